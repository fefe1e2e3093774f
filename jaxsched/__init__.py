"""jaxsched: learning-rate schedules for JAX and optax as pure, jittable, vmappable pytrees.

Every schedule maps a 0-based update count to a value and can be passed wherever optax takes
a learning rate. The lowercase names are the constructors (`jaxsched.cosine_decay(...)`); the
CamelCase names are the same classes, for `isinstance` checks and type hints.
"""

from jaxsched._base import Schedule as Schedule
from jaxsched._base import from_config as from_config
from jaxsched._combine import ByFraction as ByFraction
from jaxsched._combine import Clip as Clip
from jaxsched._combine import Join as Join
from jaxsched._combine import Product as Product
from jaxsched._combine import Scale as Scale
from jaxsched._combine import Warmup as Warmup
from jaxsched._combine import product as product
from jaxsched._combine import stack as stack
from jaxsched._constant import Constant as Constant
from jaxsched._cosine import CosineDecay as CosineDecay
from jaxsched._cosine import CosineRestarts as CosineRestarts
from jaxsched._cosine import WarmupCosineDecay as WarmupCosineDecay
from jaxsched._cyclic import Cyclic as Cyclic
from jaxsched._cyclic import OneCycle as OneCycle
from jaxsched._cyclic import OneCycleMomentum as OneCycleMomentum
from jaxsched._exponential import ExponentialDecay as ExponentialDecay
from jaxsched._exponential import InverseSqrt as InverseSqrt
from jaxsched._exponential import InverseTimeDecay as InverseTimeDecay
from jaxsched._hyperparams import current_hyperparams as current_hyperparams
from jaxsched._hyperparams import current_lr as current_lr
from jaxsched._hyperparams import set_scale as set_scale
from jaxsched._inject import ScheduledState as ScheduledState
from jaxsched._inject import inject as inject
from jaxsched._lr_find import LRFindResult as LRFindResult
from jaxsched._lr_find import lr_find as lr_find
from jaxsched._plateau import PlateauState as PlateauState
from jaxsched._plateau import ReduceOnPlateau as ReduceOnPlateau
from jaxsched._plot import plot as plot
from jaxsched._polynomial import Linear as Linear
from jaxsched._polynomial import PolynomialDecay as PolynomialDecay
from jaxsched._registry import get as get
from jaxsched._step import MultistepDecay as MultistepDecay
from jaxsched._step import PiecewiseConstant as PiecewiseConstant
from jaxsched._step import StepDecay as StepDecay
from jaxsched._tanh import TanhDecay as TanhDecay
from jaxsched._wsd import WarmupStableDecay as WarmupStableDecay

__version__ = "0.2.0"

# The constructors, in optax's vocabulary.
constant = Constant
linear = Linear
polynomial_decay = PolynomialDecay
step_decay = StepDecay
multistep_decay = MultistepDecay
piecewise_constant = PiecewiseConstant
exponential_decay = ExponentialDecay
inverse_time_decay = InverseTimeDecay
inverse_sqrt = InverseSqrt
cosine_decay = CosineDecay
warmup_cosine_decay = WarmupCosineDecay
warmup_stable_decay = WarmupStableDecay
cosine_restarts = CosineRestarts
cyclic = Cyclic
one_cycle = OneCycle
one_cycle_momentum = OneCycleMomentum
tanh_decay = TanhDecay
reduce_on_plateau = ReduceOnPlateau
join = Join
warmup = Warmup
scale = Scale
clip = Clip
by_fraction = ByFraction

__all__ = [
    "ByFraction",
    "Clip",
    "Constant",
    "CosineDecay",
    "CosineRestarts",
    "Cyclic",
    "ExponentialDecay",
    "InverseSqrt",
    "InverseTimeDecay",
    "Join",
    "LRFindResult",
    "Linear",
    "MultistepDecay",
    "OneCycle",
    "OneCycleMomentum",
    "PiecewiseConstant",
    "PlateauState",
    "PolynomialDecay",
    "Product",
    "ReduceOnPlateau",
    "Scale",
    "Schedule",
    "ScheduledState",
    "StepDecay",
    "TanhDecay",
    "Warmup",
    "WarmupCosineDecay",
    "WarmupStableDecay",
    "by_fraction",
    "clip",
    "constant",
    "cosine_decay",
    "cosine_restarts",
    "current_hyperparams",
    "current_lr",
    "cyclic",
    "exponential_decay",
    "from_config",
    "get",
    "inject",
    "inverse_sqrt",
    "inverse_time_decay",
    "join",
    "linear",
    "lr_find",
    "multistep_decay",
    "one_cycle",
    "one_cycle_momentum",
    "piecewise_constant",
    "plot",
    "polynomial_decay",
    "product",
    "reduce_on_plateau",
    "scale",
    "set_scale",
    "stack",
    "step_decay",
    "tanh_decay",
    "warmup",
    "warmup_cosine_decay",
    "warmup_stable_decay",
]
