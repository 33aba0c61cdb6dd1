"""The engine's option names and their checks, without torch: the worker's supervisor checks its
settings with them before it starts any worker process (which alone imports torch)."""

DTYPE_NAMES = ("auto", "float16", "bfloat16", "float32")

# torch.compile modes. "reduce-overhead" (Inductor kernels + CUDA graphs) was the fastest measured
# (H200, docs/PERFORMANCE.md): 0.354 s per 768 px image against 0.743 s eager, while
# "max-autotune-no-cudagraphs" had not finished autotuning after 150 s. CUDA graphs are recorded per
# input shape: the worker warms up the shapes it serves before it claims work (WARMUP_SHAPES).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
COMPILE_MODE = "reduce-overhead"

# Scaled-dot-product-attention backends tried first (loading.ATTENTION_BACKENDS has their orders).
ATTENTION_NAMES = ("default", "cudnn", "flash", "efficient", "math")


def check_dtype(name: str) -> str:
    if name not in DTYPE_NAMES:
        raise ValueError(f"unknown dtype {name!r}; use one of {', '.join(DTYPE_NAMES)}")
    return name


def check_compile_mode(name: str) -> str:
    if name not in COMPILE_MODES:
        raise ValueError(f"unknown compile mode {name!r}; use one of {', '.join(COMPILE_MODES)}")
    return name


def check_attention(name: str) -> str:
    if name not in ATTENTION_NAMES:
        raise ValueError(f"unknown attention backend {name!r}; use one of {', '.join(ATTENTION_NAMES)}")
    return name


SIZE_MESSAGE = "width and height must be multiples of 8 between 64 and 2048"


def size_ok(width: int, height: int) -> bool:
    """What the UNet and VAE can take: multiples of 8 (the latent scale), 64 to 2048 px a side."""
    return not (width % 8 or height % 8) and min(width, height) >= 64 and max(width, height) <= 2048


def check_size(width: int, height: int) -> None:
    if not size_ok(width, height):
        raise ValueError(SIZE_MESSAGE)
