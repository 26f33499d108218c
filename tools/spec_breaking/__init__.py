"""The breaking-change gate for `openapi.yaml`: what old clients do must keep working.

Two layers, both run on every comparison:

* **structure** (`_schema_diff`, `_alternatives`, `_operations`, `_responses`,
  `_security`, `_names`): walks the old and new spec in
  parallel (``oneOf`` branches matched by their ``const`` properties, ``$ref`` name or
  title, never by position) and names each change by JSON pointer, old vs new value
  and the side it breaks;
* **sampling** (`_sampling`, `_probes`): request bodies and parameters generated from
  the OLD spec must validate against the NEW one; responses generated from the NEW spec
  must validate against the OLD one. Generation is Schemathesis's strategy from the
  spec plus boundary probes (every bound and enum value), with a fixed seed. It catches
  what the walk misses, and a failing sample is reported at the pointer of the keyword
  that rejected it.

Specs are OpenAPI 3.1 (JSON Schema 2020-12 schemas). A break on purpose passes when
``info.version``'s major number was raised and the CHANGELOG entry for the new version
names the change (`_intent`). The default base is in `_git`; the command in `cli`.
"""

from spec_breaking._changes import Change, Side
from spec_breaking._compare import Comparison, compare_specs

__all__ = ["Change", "Comparison", "Side", "compare_specs"]
