"""mmcore: a crypto market-making engine with a Rust core."""

from mmcore._core import __version__

__all__ = ["__version__"]
