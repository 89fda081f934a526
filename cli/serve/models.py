"""The API's request bodies, as pydantic models (they make the OpenAPI schema): the same
fields as the commands' options and their ``--format json`` output, with the same defaults.

Values are checked twice, as on the command line: here for their JSON types, and then by the
library (``parse_spec``, ``CheckOptions``), whose messages name the fix. An unknown field is
refused, so that a typo (``"activaton"``) is not silently ignored.
"""

from __future__ import annotations

import inspect
import re

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from bpverify.derive import NetworkSpec
from bpverify.derive.prove import prove
from bpverify.numeric.check.options import CheckOptions

from ..options import network_spec

_PROVE = inspect.signature(prove).parameters
_SYMBOLIC = re.compile(r"n_\d+")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Network(Body):
    """A network as ``--layers``, ``--widths``, ``--activation``, ``--loss``, ``--leaky-slope``,
    ``--cost`` and ``--l2`` give it; the ``network`` object of ``derive``'s JSON reads back."""

    layers: int | None = Field(None, ge=1, description="weight layers L", examples=[3])
    widths: str | list[int | str] | None = Field(
        None,
        description='n_0,...,n_L as "2,3,1" or [2, 3, 1]; left out: symbolic widths',
        examples=["2,3,1"],
    )
    activations: str | list[str] | None = Field(
        None,
        validation_alias=AliasChoices("activations", "activation"),
        description="one activation for every layer, or one per layer",
        examples=[NetworkSpec.activations],
    )
    loss: str | None = Field(
        None, description="the loss C_0 of one sample", examples=[NetworkSpec.loss]
    )
    leaky_slope: str | float | None = Field(None, description="slope of leaky_relu for z <= 0")
    cost: str | None = Field(None, description="mean or sum over the samples", examples=["mean"])
    l2: str | float | None = Field(None, description="L2 weight decay lambda >= 0")

    def spec(self) -> NetworkSpec:
        """The ``NetworkSpec``, as the commands' network options make it (``network_spec``:
        SpecError names what is wrong and the fix)."""
        layers, widths = self.layers, self.widths
        if isinstance(widths, list):
            if widths and all(isinstance(w, str) and _SYMBOLIC.fullmatch(w) for w in widths):
                layers, widths = layers or len(widths) - 1, None  # derive's symbolic n_0 ...
            else:
                widths = ",".join(str(w) for w in widths)
        return network_spec(
            layers, widths, self.activations, self.loss, self.leaky_slope, self.cost, self.l2
        )


class DeriveRequest(Body):
    network: Network
    form: str = Field("all", description="index, matrix, unrolled or all", examples=["all"])
    verify: bool = Field(True, description="check every rule against the unrolled network")


class ClaimRequest(Body):
    network: Network
    wrt: str | None = Field(
        None,
        description="w^(l)_jk, b^(l)_j, a^(l)_k, z^(l)_j or a matrix W^(l); left out: the "
        "claim's own left-hand side (dC_0/dw^(3)_jk = ...)",
        examples=["w^(3)_jk"],
    )
    claim: str = Field(
        description="the claimed gradient, plain text or LaTeX",
        examples=["a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"],
    )


class ProveRequest(ClaimRequest):
    points: int = Field(_PROVE["points"].default, ge=1, le=1000, description="random networks")
    seed: int = Field(_PROVE["seed"].default, description="seed of those networks")


class GenerateRequest(Body):
    network: Network


class CheckRequest(Body):
    """The network (concrete widths) and the settings of ``CheckOptions`` that concern the
    generated code; the service never takes code to run (no ``grad_fn``)."""

    network: Network
    dtype: str = CheckOptions.dtype
    method: str = CheckOptions.method
    points: int = Field(CheckOptions.points, ge=1, le=100)
    batch: int = Field(CheckOptions.batch, ge=1, le=1000)
    seed: int = CheckOptions.seed
    sample: int | None = CheckOptions.sample
    projection: bool = CheckOptions.projection
    avoid_kinks: bool = CheckOptions.avoid_kinks
    unrolled: bool = CheckOptions.unrolled
    rtol: float | None = CheckOptions.rtol
    atol: float | None = CheckOptions.atol
    targets: str = CheckOptions.targets

    def options(self) -> CheckOptions:
        """The ``CheckOptions`` (OptionError names what is wrong and the fix)."""
        return CheckOptions(**self.model_dump(exclude={"network"}))


EXAMPLES = {
    "network": '{"layers": 3} or {"widths": "2,3,1", "activations": "tanh"}',
    "layers": "3",
    "widths": '"2,3,1" or [2, 3, 1]',
    "activations": '"sigmoid", "relu,relu,sigmoid" or ["relu", "sigmoid"]',
    "activation": '"sigmoid"',
    "loss": '"squared"',
    "leaky_slope": "0.01",
    "cost": '"mean" or "sum"',
    "l2": "0.01",
    "form": '"index", "matrix", "unrolled" or "all"',
    "verify": "true",
    "wrt": '"w^(3)_jk"',
    "claim": '"a^(2)_k * sigma\'(z^(3)_j) * 2*(a^(3)_j - y_j)"',
    "points": "20",
    "seed": "0",
    "batch": "4",
    "dtype": '"float64" or "float32"',
    "method": '"auto"',
    "sample": "10",
    "projection": "false",
    "avoid_kinks": "false",
    "unrolled": "false",
    "rtol": "1e-6",
    "atol": "1e-9",
    "targets": '"soft" or "one-hot"',
}
"""A value that works, for every field: what an error about the field suggests."""
