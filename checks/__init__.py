"""The rules, one TOML file per feature; installed as ``guestprobe.rules``."""
