"""jaxsched: learning-rate schedules for JAX and optax as pure, jittable, vmappable pytrees.

Every schedule maps a 0-based update count to a value and can be passed wherever optax takes
a learning rate. The lowercase names are the constructors (`jaxsched.cosine_decay(...)`); the
CamelCase names are the same classes, for `isinstance` checks and type hints.
"""

from jaxsched._allowed_functions import register_function as register_function
from jaxsched._combine import Advance as Advance
from jaxsched._combine import Alternate as Alternate
from jaxsched._combine import ByFraction as ByFraction
from jaxsched._combine import Clip as Clip
from jaxsched._combine import Join as Join
from jaxsched._combine import Product as Product
from jaxsched._combine import Scale as Scale
from jaxsched._combine import Warmup as Warmup
from jaxsched._combine import product as product
from jaxsched._combine import stack as stack
from jaxsched._config import from_config as from_config
from jaxsched._constant import Constant as Constant
from jaxsched._cooldown import Cooldown as Cooldown
from jaxsched._cooldown import Swa as Swa
from jaxsched._cosine import CosineDecay as CosineDecay
from jaxsched._cosine import CosineRestarts as CosineRestarts
from jaxsched._cosine import WarmupCosineDecay as WarmupCosineDecay
from jaxsched._cosine import sgdr as sgdr
from jaxsched._cyclic import Cyclic as Cyclic
from jaxsched._cyclic import OneCycle as OneCycle
from jaxsched._cyclic import OneCycleMomentum as OneCycleMomentum
from jaxsched._exponential import ExponentialDecay as ExponentialDecay
from jaxsched._exponential import InverseSqrt as InverseSqrt
from jaxsched._exponential import InverseTimeDecay as InverseTimeDecay
from jaxsched._exponential import WarmupExponentialDecay as WarmupExponentialDecay
from jaxsched._function import LambdaSchedule as LambdaSchedule
from jaxsched._function import Multiplicative as Multiplicative
from jaxsched._history import History as History
from jaxsched._hyperparams import current_hyperparams as current_hyperparams
from jaxsched._hyperparams import current_lr as current_lr
from jaxsched._hyperparams import set_scale as set_scale
from jaxsched._inject import ScheduledState as ScheduledState
from jaxsched._inject import inject as inject
from jaxsched._interpolate import CosineOneCycle as CosineOneCycle
from jaxsched._interpolate import LinearOneCycle as LinearOneCycle
from jaxsched._interpolate import PiecewiseInterpolate as PiecewiseInterpolate
from jaxsched._kinds import Kind as Kind
from jaxsched._kinds import field_kinds as field_kinds
from jaxsched._lr_find import LRFindResult as LRFindResult
from jaxsched._lr_find import lr_find as lr_find
from jaxsched._noise import Noise as Noise
from jaxsched._perturb import Perturbation as Perturbation
from jaxsched._perturb import perturb as perturb
from jaxsched._plateau import PlateauState as PlateauState
from jaxsched._plateau import ReduceOnPlateau as ReduceOnPlateau
from jaxsched._plot import plot as plot
from jaxsched._polynomial import Linear as Linear
from jaxsched._polynomial import PolynomialDecay as PolynomialDecay
from jaxsched._polynomial import PolynomialRamp as PolynomialRamp
from jaxsched._polynomial import WarmupConstant as WarmupConstant
from jaxsched._registry import get as get
from jaxsched._schedule import Schedule as Schedule
from jaxsched._search import SearchSpace as SearchSpace
from jaxsched._search import search_space as search_space
from jaxsched._step import ConstantFactor as ConstantFactor
from jaxsched._step import MultistepDecay as MultistepDecay
from jaxsched._step import PiecewiseConstant as PiecewiseConstant
from jaxsched._step import PiecewiseConstantScales as PiecewiseConstantScales
from jaxsched._step import StepDecay as StepDecay
from jaxsched._tanh import TanhDecay as TanhDecay
from jaxsched._typing import ArrayLike as ArrayLike
from jaxsched._wsd import WarmupStableDecay as WarmupStableDecay
from jaxsched._wsd import WarmupStableDecayCycles as WarmupStableDecayCycles

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
cooldown = Cooldown
swa = Swa
noise = Noise
warmup_constant = WarmupConstant
warmup_exponential_decay = WarmupExponentialDecay
linear_onecycle = LinearOneCycle
cosine_onecycle = CosineOneCycle
piecewise_interpolate = PiecewiseInterpolate
piecewise_constant_scales = PiecewiseConstantScales
constant_factor = ConstantFactor
lambda_schedule = LambdaSchedule
multiplicative = Multiplicative
warmup_stable_decay_cycles = WarmupStableDecayCycles
polynomial_ramp = PolynomialRamp
alternate = Alternate
advance = Advance
history = History

__all__ = [
    "Advance",
    "Alternate",
    "ArrayLike",
    "ByFraction",
    "Clip",
    "Constant",
    "ConstantFactor",
    "Cooldown",
    "CosineDecay",
    "CosineOneCycle",
    "CosineRestarts",
    "Cyclic",
    "ExponentialDecay",
    "History",
    "InverseSqrt",
    "InverseTimeDecay",
    "Join",
    "Kind",
    "LRFindResult",
    "LambdaSchedule",
    "Linear",
    "LinearOneCycle",
    "Multiplicative",
    "MultistepDecay",
    "Noise",
    "OneCycle",
    "OneCycleMomentum",
    "Perturbation",
    "PiecewiseConstant",
    "PiecewiseConstantScales",
    "PiecewiseInterpolate",
    "PlateauState",
    "PolynomialDecay",
    "PolynomialRamp",
    "Product",
    "ReduceOnPlateau",
    "Scale",
    "Schedule",
    "ScheduledState",
    "SearchSpace",
    "StepDecay",
    "Swa",
    "TanhDecay",
    "Warmup",
    "WarmupConstant",
    "WarmupCosineDecay",
    "WarmupExponentialDecay",
    "WarmupStableDecay",
    "WarmupStableDecayCycles",
    "advance",
    "alternate",
    "by_fraction",
    "clip",
    "constant",
    "constant_factor",
    "cooldown",
    "cosine_decay",
    "cosine_onecycle",
    "cosine_restarts",
    "current_hyperparams",
    "current_lr",
    "cyclic",
    "exponential_decay",
    "field_kinds",
    "from_config",
    "get",
    "history",
    "inject",
    "inverse_sqrt",
    "inverse_time_decay",
    "join",
    "lambda_schedule",
    "linear",
    "linear_onecycle",
    "lr_find",
    "multiplicative",
    "multistep_decay",
    "noise",
    "one_cycle",
    "one_cycle_momentum",
    "perturb",
    "piecewise_constant",
    "piecewise_constant_scales",
    "piecewise_interpolate",
    "plot",
    "polynomial_decay",
    "polynomial_ramp",
    "product",
    "reduce_on_plateau",
    "register_function",
    "scale",
    "search_space",
    "set_scale",
    "sgdr",
    "stack",
    "step_decay",
    "swa",
    "tanh_decay",
    "warmup",
    "warmup_constant",
    "warmup_cosine_decay",
    "warmup_exponential_decay",
    "warmup_stable_decay",
    "warmup_stable_decay_cycles",
]
