"""Stack settings: the one package that reads ``pulumi.Config``.

``parse_settings`` turns the raw values of one stack file into a frozen ``Settings`` and
refuses bad config with a message that names the stack file, the line where known and the key,
before any resource is registered. The offline plan calls it on every stack file
(``read_stack_file``) and then checks the deployment as a whole (``check_deployment``, and
``check_references`` once the order is known); the Pulumi program calls it through
``load_settings`` on the stack being deployed.

Every key is declared once, in ``model``: its type, bounds, default and meaning. The README's
config table is generated from there (``python -m components.settings.docs``, `make docs`).
"""

from components.settings.aws import AUTO_PAUSE_MIN_VERSIONS, SERVERLESS_V2_VERSIONS
from components.settings.deployment import check_deployment, check_references
from components.settings.errors import PROJECT, ConfigError
from components.settings.files import StackValues, read_stack_file
from components.settings.model import (
    DEFAULT_ENGINE_VERSION,
    DEFAULT_MAX_ACU,
    DEFAULT_MIN_ACU,
    DEFAULT_SECONDS_UNTIL_AUTO_PAUSE,
    DEFAULT_THROTTLING_BURST,
    DEFAULT_THROTTLING_RATE,
    DEFAULT_WAF_RATE_LIMIT,
    MAX_ACU,
    MAX_THROTTLING_BURST,
    MAX_THROTTLING_RATE,
    MAX_WAF_RATE_LIMIT,
    MIN_WAF_RATE_LIMIT,
    NO_NAT_PROBLEM,
    AdoptedSettings,
    DatabaseSettings,
    DomainSettings,
    EdgeSettings,
    Environment,
    GraphqlAuth,
    NatGateways,
    OnPremSettings,
    PaymentSettings,
    Role,
    Settings,
    StackConfig,
    VpnSettings,
    WriteMode,
)
from components.settings.parse import (
    DEFAULT_ORGANIZATION,
    MISSING_STACKS_ENV,
    OLD_WORDS,
    ConfigRunError,
    load_settings,
    parse_settings,
    qualified_name,
    short_name,
    with_peers,
)

__all__ = [
    "AUTO_PAUSE_MIN_VERSIONS",
    "DEFAULT_ENGINE_VERSION",
    "DEFAULT_MAX_ACU",
    "DEFAULT_MIN_ACU",
    "DEFAULT_ORGANIZATION",
    "DEFAULT_SECONDS_UNTIL_AUTO_PAUSE",
    "DEFAULT_THROTTLING_BURST",
    "DEFAULT_THROTTLING_RATE",
    "DEFAULT_WAF_RATE_LIMIT",
    "MAX_ACU",
    "MAX_THROTTLING_BURST",
    "MAX_THROTTLING_RATE",
    "MAX_WAF_RATE_LIMIT",
    "MIN_WAF_RATE_LIMIT",
    "MISSING_STACKS_ENV",
    "NO_NAT_PROBLEM",
    "OLD_WORDS",
    "PROJECT",
    "SERVERLESS_V2_VERSIONS",
    "AdoptedSettings",
    "ConfigError",
    "ConfigRunError",
    "DatabaseSettings",
    "DomainSettings",
    "EdgeSettings",
    "Environment",
    "GraphqlAuth",
    "NatGateways",
    "OnPremSettings",
    "PaymentSettings",
    "Role",
    "Settings",
    "StackConfig",
    "StackValues",
    "VpnSettings",
    "WriteMode",
    "check_deployment",
    "check_references",
    "load_settings",
    "parse_settings",
    "qualified_name",
    "read_stack_file",
    "short_name",
    "with_peers",
]
