"""The toy world: posts, raters and the gold utility (`world`), its language models (`lms`), the world built and cached
(`build`), the task `toy` (`task`) and the world's report (`report`); their public names import from here"""
from .world import *   # noqa: F403
from .lms import *     # noqa: F403
from .build import *   # noqa: F403
from .task import *    # noqa: F403
from .report import *  # noqa: F403
