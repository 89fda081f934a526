"""Training on the generated code: data sets (``datasets``), optimisers (``optim``), the loop
(``loop``) and model files that resume a run (``model_file``)."""
