"""Settings for the platform. `saas_platform.settings` is the runtime configuration.

The split: `base` holds everything, read from the environment; `test` adjusts it for the suite.
"""

from saas_platform.settings.base import *  # noqa: F403
