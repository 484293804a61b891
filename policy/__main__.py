"""The policy pack: `pulumi preview --policy-pack policy` (and `ops preview` / `ops up`)."""

import sys
from pathlib import Path

# The rules read the program's own facts (components/guards.py); the engine runs this file
# from policy/, so the project is put on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.pack import NAME, policies

PolicyPack(name=NAME, policies=policies())
