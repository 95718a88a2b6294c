"""A KubeVirt manifest as YAML, read as JSON would be: bounded, and JSON's types only.

PyYAML is imported only here, and only when a YAML file is given (no target ships it). Its
``safe_load`` is not enough for hostile input: an alias is a shared reference that ``str()`` and
the JSON output expand (a 600-byte "billion laughs" grows to gigabytes), and a timestamp,
``!!binary`` or ``!!set`` is a Python type that JSON has not. So the document is composed into
YAML nodes (aliases refused as they are met, nesting capped at the JSON reader's depth) and each
node is turned into a JSON value by its resolved tag; any other tag is refused, naming the field.
At most :data:`MAX_YAML_BYTES` and :data:`MAX_YAML_NODES` values are read. ``kubectl get -o
yaml`` writes neither aliases nor such tags.
"""


import math
from typing import Any, List

from guestprobe.document.inputs import MAX_JSON_DEPTH
from guestprobe.errors import BadInputError

# PyYAML's pure-Python reader takes seconds per 100,000 values and builds an object of a few
# hundred bytes for each; a VMI with 1,024 disks is some 10,000 values and 150 KB of YAML.
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_NODES = 20_000
_TAG = "tag:yaml.org,2002:"
_JSON_SCALARS = {_TAG + "str", _TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"}
_TAG_NAMES = {"timestamp": "a timestamp (quote it)", "binary": "!!binary data",
              "set": "a !!set", "omap": "an !!omap", "pairs": "!!pairs",
              "merge": "a merge key (<<)", "value": "a value key (=)"}


class _Refused(Exception):
    """Raised inside the composer; becomes one BadInputError line."""


def _describe(tag: str) -> str:
    if tag.startswith(_TAG):
        return _TAG_NAMES.get(tag[len(_TAG):], "the YAML type !!" + tag[len(_TAG):])
    return f"the tag {tag[:60]!r}"


def _field(path: "List[str]") -> str:
    return "".join(path).lstrip(".") or "the document"


def load_yaml(text: str, what: str) -> "Any":
    """The one document in ``text`` as JSON values; BadInputError (exit 8) otherwise."""
    import yaml

    if len(text) > MAX_YAML_BYTES:
        raise BadInputError(f"{what}: {len(text)} characters of YAML, more than the "
                            f"{MAX_YAML_BYTES // 1024} KiB a VMI in YAML may be (JSON may be "
                            "larger: kubectl get vmi NAME -o json)")

    class Loader(yaml.SafeLoader):
        depth = 0
        nodes = 0

        def compose_node(self, parent: "Any", index: "Any") -> "Any":
            if self.check_event(yaml.AliasEvent):
                raise _Refused("a YAML alias (*name): aliases are refused (kubectl never "
                               "writes them)")
            self.nodes += 1
            if self.nodes > MAX_YAML_NODES:
                raise _Refused(f"more than {MAX_YAML_NODES} YAML values; a VMI has hundreds")
            self.depth += 1
            if self.depth > MAX_JSON_DEPTH:
                raise _Refused(f"YAML nested deeper than {MAX_JSON_DEPTH} levels")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = Loader(text)
    try:
        node = loader.get_single_node()
    except _Refused as exc:
        raise BadInputError(f"{what}: {exc}") from None
    except yaml.YAMLError as exc:
        raise BadInputError(f"{what}: not YAML ({str(exc).splitlines()[0]})") from None
    finally:
        loader.dispose()
    if node is None:
        raise BadInputError(f"{what}: an empty YAML document")
    constructor = yaml.constructor.SafeConstructor()
    return _value(node, constructor, [], what, yaml)


def _value(node: "Any", constructor: "Any", path: "List[str]", what: str, yaml: "Any") -> "Any":
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag not in _JSON_SCALARS:
            raise BadInputError(f"{what}: {_field(path)} is {_describe(tag)}, not a JSON value")
        kind = tag[len(_TAG):]
        value = getattr(constructor, "construct_yaml_" + kind)(node)
        if kind == "float" and not math.isfinite(value):
            raise BadInputError(f"{what}: {_field(path)} is {node.value!r}, not a JSON number")
        return value
    if isinstance(node, yaml.SequenceNode):
        if tag != _TAG + "seq":
            raise BadInputError(f"{what}: {_field(path)} is {_describe(tag)}, not a JSON list")
        return [_value(item, constructor, [*path, f"[{i}]"], what, yaml)
                for i, item in enumerate(node.value)]
    if tag != _TAG + "map":
        raise BadInputError(f"{what}: {_field(path)} is {_describe(tag)}, not a JSON object")
    out = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _TAG + "str":
            shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            raise BadInputError(f"{what}: {_field(path)} has the key {str(shown)[:60]!r} "
                                f"({_describe(key_node.tag)}): JSON keys are strings")
        key = key_node.value
        out[key] = _value(value_node, constructor, [*path, "." + key[:60]], what, yaml)
    return out
