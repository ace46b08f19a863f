"""The owner's and buyer's side of consent and the data market (issue 14): the sharing policy and
its decision log, object labels, grant creation (kits and key fragments to privacy nodes), the
agent's market loop, and the buyer's fetch. docs/operations/consent.md tells how to use them."""

from voxpop.client.consent.decisions import DecisionLog
from voxpop.client.consent.errors import (
    ConsentClientError,
    FetchError,
    GrantError,
    LabelError,
    PolicyError,
)
from voxpop.client.consent.labels import label_object
from voxpop.client.consent.policy import (
    Decision,
    OfferTerms,
    SharingPolicy,
    decide,
    load_policy,
    save_policy,
    set_fields,
)

__all__ = [
    "ConsentClientError",
    "Decision",
    "DecisionLog",
    "FetchError",
    "GrantError",
    "LabelError",
    "OfferTerms",
    "PolicyError",
    "SharingPolicy",
    "decide",
    "label_object",
    "load_policy",
    "save_policy",
    "set_fields",
]
