"""The image generation engine (torch + diffusers), used only by the GPU worker process.

Import the submodules you need: `core` (Engine, Job), `loading`, `bench`, `tiny` import torch;
`metadata` does not, so the web process may use it. This package's `__init__` imports nothing.
"""
