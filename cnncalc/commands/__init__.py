"""The commands, one module each; importing this package registers them all on `app`.

Each module imports only what its command needs at call time, so that `cnncalc show` never
pays for (or imports) torch.
"""

from ..cli import app
from . import show, specs  # noqa: F401
from . import compare  # noqa: F401
from . import check  # noqa: F401
from . import fit, scale  # noqa: F401
from . import conv, explain, memory  # noqa: F401
from . import verify  # noqa: F401
from . import schema  # noqa: F401

__all__ = ["app"]
