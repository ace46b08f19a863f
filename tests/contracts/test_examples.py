"""The three example contracts of issue 17, built with asc and run on one real solo node.

(a) revenue_split receives a skill's royalties through skills/Settle and pays three developers
their shares with bank/Send sub-messages; (b) household_wallet pays a spend once two of three
members approve; (c) bounty keeps an escrow until the arbiter approves a hunter's claim. Plus the
SDK's JSON reader at its edges, through the template's counter.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from voxpop.chain.modules.skills.messages import MsgRegisterSkill, MsgSettle
from voxpop.contracts.build import build_contracts, example_dir
from voxpop.contracts.scaffold import TEMPLATE_DIR
from voxpop.contracts.testing import ContractChain, ContractTxError, account_key
from voxpop.crypto.address import decode_address

pytestmark = pytest.mark.slow

EXAMPLES = ("revenue_split", "household_wallet", "bounty")
BUILT = (*EXAMPLES, "counter", "tipjar", "probe")
PROBE = Path(__file__).resolve().parent / "probe"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "contracts-guide.md"


def _block(text: str, heading: str, lang: str) -> str:
    """The first ```lang block after `heading` in the guide."""
    after = text[text.index(heading) :]
    return after.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


@pytest.fixture(scope="module")
def building(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Future[list[Path]]]:
    """Each example, the template's counter and the guide's tip jar, compiled by one asc process
    (it loads and warms up once) while the node starts."""
    out = tmp_path_factory.mktemp("wasm")
    guide = out / "tipjar"
    guide.mkdir()
    (guide / "contract.ts").write_text(_block(GUIDE.read_text(), "## 5.", "ts"))
    projects = [example_dir(name) for name in EXAMPLES] + [TEMPLATE_DIR, guide, PROBE]
    jobs = [(path, out / f"{name}.wasm") for name, path in zip(BUILT, projects, strict=True)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(build_contracts, jobs)


@pytest.fixture(scope="module")
def chain(
    building: Future[list[Path]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContractChain]:
    with ContractChain.start(tmp_path_factory.mktemp("node")) as chain:
        yield chain


@pytest.fixture(scope="module")
def wasm(building: Future[list[Path]]) -> dict[str, Path]:
    return dict(zip(BUILT, building.result(), strict=True))


@pytest.fixture(scope="module")
def codes(chain: ContractChain, wasm: dict[str, Path]) -> dict[str, int]:
    """The examples, the counter and the probe, stored: their code ids."""
    return {name: chain.store("alice", wasm[name]) for name in (*EXAMPLES, "counter", "probe")}


def me(chain: ContractChain, name: str) -> bytes:
    return decode_address(chain.address(name))


# --- (a) revenue split ------------------------------------------------------------------------


def test_revenue_split_pays_royalties_by_shares(
    chain: ContractChain, codes: dict[str, int]
) -> None:
    members = [
        {"address": chain.address("alice"), "share": 5000},
        {"address": chain.address("bob"), "share": 3000},
        {"address": chain.address("carol"), "share": 2000},
    ]
    split = chain.instantiate("alice", codes["revenue_split"], {"members": members})
    # The skill's royalties go to the contract: its address is the payout
    skill = "skill-split.voxpop"
    register = MsgRegisterSkill(me(chain, "alice"), skill, decode_address(split), 1000)
    chain.tx("alice", [register])
    chain.tx("dave", [MsgSettle(me(chain, "dave"), ((skill, 7),))])
    assert chain.balance(split) == 7000
    before = {n: chain.balance(n) for n in ("alice", "bob", "carol")}

    # Anyone (erin) distributes; the shares arrive through bank/Send sub-messages
    chain.execute("erin", split, {"distribute": {}})
    after = {n: chain.balance(n) for n in ("alice", "bob", "carol")}
    assert {n: after[n] - before[n] for n in after} == {"alice": 3500, "bob": 2100, "carol": 1400}
    assert chain.balance(split) == 0
    assert chain.query(split, {"paid": {"address": chain.address("bob")}}) == {"paid": 2100}
    assert chain.query(split, {"members": {}})["distributed"] == 7000

    with pytest.raises(ContractTxError, match="nothing to distribute"):
        chain.execute("erin", split, {"distribute": {}})


def test_revenue_split_shares_must_make_the_whole(
    chain: ContractChain, codes: dict[str, int]
) -> None:
    members = [{"address": chain.address("alice"), "share": 9000}]
    with pytest.raises(ContractTxError, match="sum to 10000"):
        chain.instantiate("alice", codes["revenue_split"], {"members": members})
    twice = [{"address": chain.address("bob"), "share": 5000}] * 2
    with pytest.raises(ContractTxError, match="listed twice"):
        chain.instantiate("alice", codes["revenue_split"], {"members": twice})


# --- (b) household wallet ---------------------------------------------------------------------


def test_household_wallet_pays_on_two_of_three(chain: ContractChain, codes: dict[str, int]) -> None:
    family = [chain.address(n) for n in ("alice", "bob", "carol")]
    wallet = chain.instantiate(
        "alice", codes["household_wallet"], {"members": family, "threshold": 2}
    )
    chain.send("dave", wallet, 50_000)
    chain.execute("dave", wallet, {"deposit": {}}, funds=1_000)
    assert chain.balance(wallet) == 51_000
    erin = chain.balance("erin")

    spend = {"propose": {"to": chain.address("erin"), "amount": 30_000, "memo": "groceries"}}
    chain.execute("bob", wallet, spend)
    assert chain.balance("erin") == erin  # one approval of two: nothing paid
    with pytest.raises(ContractTxError, match="only a member"):
        chain.execute("dave", wallet, {"approve": {"id": 1}})
    with pytest.raises(ContractTxError, match="already approved"):
        chain.execute("bob", wallet, {"approve": {"id": 1}})

    chain.execute("carol", wallet, {"approve": {"id": 1}})
    assert chain.balance("erin") == erin + 30_000
    assert chain.balance(wallet) == 21_000
    proposal = chain.query(wallet, {"proposal": {"id": 1}})
    assert proposal["paid"] is True and proposal["approvals"] == 2
    with pytest.raises(ContractTxError, match="already paid"):
        chain.execute("alice", wallet, {"approve": {"id": 1}})

    # More than the wallet holds: the approval that would pay is refused, nothing changes
    chain.execute("alice", wallet, {"propose": {"to": chain.address("erin"), "amount": 99_000}})
    with pytest.raises(ContractTxError, match="holds less than"):
        chain.execute("bob", wallet, {"approve": {"id": 2}})
    assert chain.query(wallet, {"proposal": {"id": 2}})["approvals"] == 1
    assert chain.balance(wallet) == 21_000


def test_household_wallet_needs_a_real_threshold(
    chain: ContractChain, codes: dict[str, int]
) -> None:
    family = [chain.address(n) for n in ("alice", "bob", "carol")]
    with pytest.raises(ContractTxError, match="threshold"):
        chain.instantiate("alice", codes["household_wallet"], {"members": family, "threshold": 1})


# --- (c) bounty -------------------------------------------------------------------------------


def _bounty(chain: ContractChain, code_id: int, funds: int, deadline: int) -> str:
    msg = {"arbiter": chain.address("carol"), "description": "port X", "deadline": deadline}
    return chain.instantiate("alice", code_id, msg, funds=funds)


def test_bounty_pays_the_hunter_the_arbiter_approves(
    chain: ContractChain, codes: dict[str, int]
) -> None:
    later = int(time.time()) + 3600
    bounty = _bounty(chain, codes["bounty"], 40_000, later)
    chain.execute("bob", bounty, {"claim": {"note": "PR #1"}})
    chain.execute("dave", bounty, {"claim": {"note": "PR #2"}})
    with pytest.raises(ContractTxError, match="already claimed"):
        chain.execute("bob", bounty, {"claim": {"note": "again"}})
    with pytest.raises(ContractTxError, match="only the arbiter"):
        chain.execute("bob", bounty, {"approve": {"hunter": chain.address("bob")}})
    with pytest.raises(ContractTxError, match="no claim"):
        chain.execute("carol", bounty, {"approve": {"hunter": chain.address("erin")}})
    with pytest.raises(ContractTxError, match="deadline has not passed"):
        chain.execute("alice", bounty, {"reclaim": {}})

    dave = chain.balance("dave")
    chain.execute("carol", bounty, {"approve": {"hunter": chain.address("dave")}})
    assert chain.balance("dave") == dave + 40_000
    status = chain.query(bounty, {"status": {}})
    assert status["status"] == "paid" and status["paid"] == 40_000 and status["escrow"] == 0
    with pytest.raises(ContractTxError, match="closed"):
        chain.execute("erin", bounty, {"claim": {"note": "late"}})


def test_bounty_cancel_refunds_the_funder(chain: ContractChain, codes: dict[str, int]) -> None:
    bounty = _bounty(chain, codes["bounty"], 10_000, int(time.time()) + 3600)
    alice = chain.balance("alice")
    chain.execute("carol", bounty, {"cancel": {}})
    assert chain.balance("alice") == alice + 10_000
    assert chain.query(bounty, {"status": {}})["status"] == "cancelled"


def test_bounty_needs_escrow_and_a_future_deadline(
    chain: ContractChain, codes: dict[str, int]
) -> None:
    with pytest.raises(ContractTxError, match="reward"):
        _bounty(chain, codes["bounty"], 0, int(time.time()) + 3600)
    with pytest.raises(ContractTxError, match="deadline has passed"):
        _bounty(chain, codes["bounty"], 1_000, 1)


# --- the SDK's JSON reader, through the counter -------------------------------------------------


@pytest.mark.parametrize(
    ("msg", "refusal"),
    [
        ({"count": 1.5}, "numbers must be integers"),
        ({"count": 18446744073709551616}, "above 2^64-1"),
        ({"count": -1}, "not an unsigned integer"),
        ({"count": "5"}, "must be an integer"),
        (b'{"count": 1e3}', "numbers must be integers"),
        (b'{"count": 1, "count": 2}', "not JSON"),
        (b'{"count": -0}', "not an unsigned integer"),
    ],
)
def test_sdk_refuses_what_is_not_a_u64(
    chain: ContractChain, codes: dict[str, int], msg: object, refusal: str
) -> None:
    with pytest.raises(ContractTxError, match=re.escape(refusal)):
        chain.instantiate("alice", codes["counter"], msg)


def test_sdk_reads_escapes_and_the_largest_u64(chain: ContractChain, codes: dict[str, int]) -> None:
    counter = chain.instantiate(
        "alice", codes["counter"], {"count": 2**64 - 3, "note": 'a "q" \\ \u00e9 \U0001f600'}
    )
    chain.execute("bob", counter, {"add": {"by": 2}})
    assert chain.query(counter, {"count": {}}) == {"count": 2**64 - 1}
    with pytest.raises(ContractTxError, match="overflow"):
        chain.execute("bob", counter, {"add": {"by": 1}})


# --- the guide's tip jar, built and tested from the page ----------------------------------------


def test_guide_tip_jar(chain: ContractChain, wasm: dict[str, Path]) -> None:
    namespace: dict[str, object] = {
        "ContractChain": ContractChain,
        "ContractTxError": ContractTxError,
        "pytest": pytest,
        "built_wasm": lambda _: wasm["tipjar"],
        "HERE": wasm["tipjar"].parent,
    }
    exec(_block(GUIDE.read_text(), "## 6.", "python"), namespace)
    test = namespace["test_tip_jar"]
    assert callable(test)
    test(chain)


# --- every SDK function, through the probe contract (tests/contracts/probe) --------------------


@pytest.fixture(scope="module")
def probe(chain: ContractChain, codes: dict[str, int]) -> str:
    return chain.instantiate("alice", codes["probe"], {})


def test_sdk_storage_and_key_ranges(chain: ContractChain, probe: str) -> None:
    big = "x" * 1000  # past the SDK's first 256-byte read buffer: it asks again with the size
    for key, value in (("a/2", big), ("a/1", "one"), ("a/3", "three"), ("b/1", "other")):
        chain.execute("bob", probe, {"put": {"key": key, "value": value}})
    assert chain.query(probe, {"get": {"key": "a/2"}}) == {"value": big}
    assert chain.query(probe, {"get": {"key": "a/9"}}) is None
    keys = {"keys": {"prefix": "a/", "limit": 10}}
    assert chain.query(probe, keys) == {"keys": ["a/1", "a/2", "a/3"]}
    assert chain.query(probe, {"keys": {"prefix": "a/", "limit": 2}}) == {"keys": ["a/1", "a/2"]}
    after = {"keys": {"prefix": "a/", "limit": 10, "after": "a/1"}}
    assert chain.query(probe, after) == {"keys": ["a/2", "a/3"]}
    before = {"keys": {"prefix": "b/", "limit": 10, "after": "a/1"}}
    assert chain.query(probe, before) == {"keys": ["b/1"]}
    chain.execute("bob", probe, {"remove": {"key": "a/2"}})
    assert chain.query(probe, keys) == {"keys": ["a/1", "a/3"]}


def test_sdk_crypto_and_addresses(chain: ContractChain, probe: str) -> None:
    text = "h\u00e9llo \U0001f600"
    assert chain.query(probe, {"sha256": {"text": text}}) == {
        "hex": hashlib.sha256(text.encode()).hexdigest()
    }
    key = account_key("bob")
    sig = key.sign(b"pay 5")
    good = {"msg": "pay 5", "sig": sig.hex(), "pubkey": key.public_key.raw.hex()}
    assert chain.query(probe, {"verify": good}) == {"valid": True}
    assert chain.query(probe, {"verify": {**good, "msg": "pay 6"}}) == {"valid": False}
    carol = chain.address("carol")
    assert chain.query(probe, {"address": {"text": carol}}) == {
        "valid": True,
        "hex": decode_address(carol).hex(),
    }
    broken = carol[:-1] + ("q" if carol[-1] != "q" else "p")
    assert chain.query(probe, {"address": {"text": broken}}) == {"valid": False, "hex": ""}


def test_sdk_env_and_calls_to_another_contract(
    chain: ContractChain, codes: dict[str, int], probe: str
) -> None:
    seen = chain.query(probe, {"env": {}})
    assert seen["contract"] == probe and seen["chain_id"] == chain.node.chain_id
    assert seen["height"] > 0 and seen["time"] > 1_700_000_000 and seen["funds"] == 0

    counter = chain.instantiate("alice", codes["counter"], {"count": 1})
    # A sub-message: the probe calls the counter, which sees the probe as its sender
    chain.execute("bob", probe, {"call": {"contract": counter, "msg": {"add": {"by": 3}}}})
    ask = {"smart": {"contract": counter, "msg": {"count": {}}}}
    assert chain.query(probe, ask) == {"count": 4}
