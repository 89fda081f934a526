"""Code generation: the derived matrix rules printed as a NumPy module (``source``) through a
printer subclass (``printer``), and that module compiled and called (``program``)."""
