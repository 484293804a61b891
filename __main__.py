"""The Pulumi program: build this region's stack from its settings and export its outputs."""

import pulumi

from components.settings import load_settings
from components.stack import build

for key, value in build(load_settings()).items():
    pulumi.export(key, value)
