"""Typed errors of the state machine. Each has a stable numeric code and name.

Codes are part of the protocol (docs/protocol/errors.md): clients match on them, so never renumber.
Code 0 means success. A tx rejected at check_tx changes nothing; one that fails in a block still
pays its fee and uses its sequence, and its messages change nothing.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

CODESPACE = "voxpop"


class ChainError(Exception):
    """An unexpected internal error."""

    code: ClassVar[int] = 1
    name: ClassVar[str] = "internal"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.name)
        self.message = message or self.name


_E = TypeVar("_E", bound=type["ChainError"])


def _register(cls: _E) -> _E:
    if cls.code in ERRORS:
        raise RuntimeError(f"duplicate error code {cls.code}")
    ERRORS[cls.code] = cls
    return cls


ERRORS: dict[int, type[ChainError]] = {}
_register(ChainError)

QUOTE_LIMIT = 64


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Untrusted text, shortened, for an error message: never format an untrusted value whole
    (a message may be logged, and formatting some values costs time or raises)."""
    return repr(text[:limit] + "..." if len(text) > limit else text)


# Decoding and format (2-19)


@_register
class TxDecodeError(ChainError):
    """The tx bytes are not a valid canonical voxpop tx."""

    code = 2
    name = "tx_decode"


@_register
class TxTooLargeError(ChainError):
    """The tx exceeds the maximum size."""

    code = 3
    name = "tx_too_large"


@_register
class UnknownMessageError(ChainError):
    """A message type is not known to this chain."""

    code = 4
    name = "unknown_message"


@_register
class InvalidMessageError(ChainError):
    """A message field is missing or malformed."""

    code = 5
    name = "invalid_message"


@_register
class InvalidAddressError(ChainError):
    """An address is malformed."""

    code = 6
    name = "invalid_address"


@_register
class InvalidAmountError(ChainError):
    """An amount is zero, negative or too large."""

    code = 7
    name = "invalid_amount"


@_register
class TooManyMessagesError(ChainError):
    """The tx holds too many messages."""

    code = 8
    name = "too_many_messages"


@_register
class MemoTooLargeError(ChainError):
    """The memo is too long."""

    code = 9
    name = "memo_too_large"


# Authentication (20-39)


@_register
class WrongChainIdError(ChainError):
    """The tx was signed for another chain."""

    code = 20
    name = "wrong_chain_id"


@_register
class InvalidSignatureError(ChainError):
    """The signature does not verify."""

    code = 21
    name = "invalid_signature"


@_register
class WrongSequenceError(ChainError):
    """The account sequence does not match."""

    code = 22
    name = "wrong_sequence"


@_register
class UnauthorizedError(ChainError):
    """A message's signer is not the tx signer."""

    code = 23
    name = "unauthorized"


@_register
class TxTimeoutError(ChainError):
    """The tx's timeout height has passed."""

    code = 24
    name = "tx_timeout"


# Fees and gas (40-59)


@_register
class InsufficientFeeError(ChainError):
    """The fee is below the minimum gas price."""

    code = 40
    name = "insufficient_fee"


@_register
class OutOfGasError(ChainError):
    """The tx used more gas than its limit."""

    code = 41
    name = "out_of_gas"


@_register
class GasLimitTooHighError(ChainError):
    """The gas limit exceeds the block's."""

    code = 42
    name = "gas_limit_too_high"


# Bank (60-79)


@_register
class InsufficientFundsError(ChainError):
    """The balance is too small."""

    code = 60
    name = "insufficient_funds"


@_register
class SupplyOverflowError(ChainError):
    """The operation would exceed the maximum supply."""

    code = 61
    name = "supply_overflow"


@_register
class ModulePermissionError(ChainError):
    """A module account lacks the permission."""

    code = 62
    name = "module_permission"


@_register
class BlockedRecipientError(ChainError):
    """Funds cannot be sent to this account."""

    code = 63
    name = "blocked_recipient"


# Grant (80-99)


@_register
class UnknownRegistrarError(ChainError):
    """The attestation's registrar is not listed."""

    code = 80
    name = "unknown_registrar"


@_register
class InvalidAttestationError(ChainError):
    """The attestation signature is invalid."""

    code = 81
    name = "invalid_attestation"


@_register
class AttestationExpiredError(ChainError):
    """The attestation has expired."""

    code = 82
    name = "attestation_expired"


@_register
class IdentityClaimedError(ChainError):
    """This identity has already claimed a grant."""

    code = 83
    name = "identity_claimed"


@_register
class AccountClaimedError(ChainError):
    """This account has already claimed a grant."""

    code = 84
    name = "account_claimed"


@_register
class RegistrarQuotaError(ChainError):
    """The registrar's quota for this epoch is spent."""

    code = 85
    name = "registrar_quota"


@_register
class GrantPoolEmptyError(ChainError):
    """The grant pool cannot pay the grant."""

    code = 86
    name = "grant_pool_empty"


@_register
class RegistrarUnbondedError(ChainError):
    """The registrar's bond is less than grant's `registrar_bond`."""

    code = 87
    name = "registrar_unbonded"


@_register
class BondExceededError(ChainError):
    """The withdrawal is more than the registrar's bond lets go."""

    code = 88
    name = "bond_exceeded"


# Queries (100-119)


@_register
class UnknownQueryError(ChainError):
    """The query path is not known."""

    code = 100
    name = "unknown_query"


@_register
class InvalidQueryError(ChainError):
    """The query data is malformed."""

    code = 101
    name = "invalid_query"


@_register
class HeightNotAvailableError(ChainError):
    """The height is pruned or in the future."""

    code = 102
    name = "height_not_available"


@_register
class ListFullError(ChainError):
    """A listed collection (e.g. one delegator's delegations) is at its size limit."""

    code = 103
    name = "list_full"


# Genesis (120-139)


@_register
class InvalidGenesisError(ChainError):
    """The genesis state is invalid."""

    code = 120
    name = "invalid_genesis"


# Node (140-159): raised by the node around the state machine, not by it


@_register
class MempoolFullError(ChainError):
    """The mempool is full; retry later."""

    code = 140
    name = "mempool_full"


@_register
class TxInMempoolError(ChainError):
    """The same tx is already in the mempool."""

    code = 141
    name = "tx_in_mempool"


@_register
class CommitTimeoutError(ChainError):
    """The tx passed check_tx but was not committed in time; it may still be."""

    code = 142
    name = "commit_timeout"


# Staking (160-199)


@_register
class ValidatorExistsError(ChainError):
    """The operator already runs a validator, or the consensus key is taken."""

    code = 160
    name = "validator_exists"


@_register
class UnknownValidatorError(ChainError):
    """No validator has this operator address."""

    code = 161
    name = "unknown_validator"


@_register
class InvalidCommissionError(ChainError):
    """The commission rates are out of bounds or change too much or too often."""

    code = 162
    name = "invalid_commission"


@_register
class SelfBondTooLowError(ChainError):
    """The self-bond is below the chain's minimum."""

    code = 163
    name = "self_bond_too_low"


@_register
class NoDelegationError(ChainError):
    """The delegator has no (or too small a) delegation to this validator."""

    code = 164
    name = "no_delegation"


@_register
class InvalidExchangeRateError(ChainError):
    """The validator has shares but no tokens (fully slashed); it cannot take delegations."""

    code = 165
    name = "invalid_exchange_rate"


@_register
class SelfRedelegationError(ChainError):
    """Source and destination validators are the same."""

    code = 166
    name = "self_redelegation"


@_register
class TransitiveRedelegationError(ChainError):
    """Tokens redelegated to the source validator are still maturing."""

    code = 167
    name = "transitive_redelegation"


@_register
class AmountTooSmallError(ChainError):
    """The amount is worth no tokens or shares at the current exchange rate."""

    code = 168
    name = "amount_too_small"


# Distribution (200-219)


@_register
class NoCommissionError(ChainError):
    """The validator has no commission to claim."""

    code = 200
    name = "no_commission"


# Slashing (220-239)


@_register
class ValidatorNotJailedError(ChainError):
    """The validator is not jailed."""

    code = 220
    name = "validator_not_jailed"


@_register
class ValidatorTombstonedError(ChainError):
    """The validator double-signed and can never be unjailed."""

    code = 221
    name = "validator_tombstoned"


@_register
class JailPeriodActiveError(ChainError):
    """The validator's jail period has not ended."""

    code = 222
    name = "jail_period_active"


# Authz (240-249): acting for another account


@_register
class SelfGrantError(ChainError):
    """An account cannot grant authorizations or fee allowances to itself."""

    code = 240
    name = "self_grant"


@_register
class NoAuthorizationError(ChainError):
    """No authorization from the message's signer lets the grantee send this message type."""

    code = 241
    name = "no_authorization"


@_register
class AuthorizationExpiredError(ChainError):
    """The authorization has expired (or its expiration is not in the future)."""

    code = 242
    name = "authorization_expired"


@_register
class AuthorizationExceededError(ChainError):
    """The message exceeds the authorization's spend limit or per-period limit."""

    code = 243
    name = "authorization_exceeded"


@_register
class NotDelegableError(ChainError):
    """This message type cannot be granted or executed on another's behalf (authz itself)."""

    code = 244
    name = "not_delegable"


@_register
class TooManyGrantsError(ChainError):
    """The granter holds the most authorizations allowed; revoke one first."""

    code = 245
    name = "too_many_grants"


# Feegrant (250-259): paying fees for another account


@_register
class NoAllowanceError(ChainError):
    """The fee granter has no fee allowance for the tx's signer."""

    code = 250
    name = "no_allowance"


@_register
class AllowanceExpiredError(ChainError):
    """The fee allowance has expired (or its expiration is not in the future)."""

    code = 251
    name = "allowance_expired"


@_register
class AllowanceExceededError(ChainError):
    """The fee exceeds the allowance's spend limit or per-period limit."""

    code = 252
    name = "allowance_exceeded"


@_register
class MessageNotAllowedError(ChainError):
    """The fee allowance does not cover one of the tx's message types."""

    code = 253
    name = "message_not_allowed"


# Directory (280-299)


@_register
class InvalidEncryptionKeyError(ChainError):
    """An encryption key is malformed, not canonical, or of small order."""

    code = 280
    name = "invalid_encryption_key"


@_register
class KeyVersionMismatchError(ChainError):
    """The message names a key version other than the account's current version + 1."""

    code = 281
    name = "key_version_mismatch"


@_register
class NoPublishedKeysError(ChainError):
    """The account has no published keys (none yet, or revoked)."""

    code = 282
    name = "no_published_keys"


def error_name(code: int) -> str:
    cls = ERRORS.get(code)
    return cls.name if cls is not None else "unknown"


# Channels (320-349)


@_register
class ChannelNotFoundError(ChainError):
    """No open channel has this id (never opened, closed, or collected)."""

    code = 320
    name = "channel_not_found"


@_register
class VoucherInvalidError(ChainError):
    """The voucher's signature is not the channel's voucher key's over this chain id, channel
    and amount."""

    code = 321
    name = "voucher_invalid"


@_register
class VoucherStaleError(ChainError):
    """The voucher's cumulative amount is not above what the channel has already paid."""

    code = 322
    name = "voucher_stale"


@_register
class OverDepositError(ChainError):
    """The voucher's cumulative amount is above the channel's deposit."""

    code = 323
    name = "over_deposit"


@_register
class ChannelSettlingError(ChainError):
    """The payer has started the channel's settle window: no top-up, no second settle."""

    code = 324
    name = "channel_settling"


@_register
class SettleWindowOpenError(ChainError):
    """The channel's settle window has not ended (or not started): the payer cannot collect."""

    code = 325
    name = "settle_window_open"


@_register
class SettleWindowEndedError(ChainError):
    """The channel's settle window has ended: the payee can no longer claim on it."""

    code = 326
    name = "settle_window_ended"


@_register
class WrongPayeeError(ChainError):
    """The signer is not the channel's payee (claim, close)."""

    code = 327
    name = "wrong_payee"


@_register
class WrongPayerError(ChainError):
    """The signer is not the channel's payer (top-up, settle, collect)."""

    code = 328
    name = "wrong_payer"


@_register
class SelfChannelError(ChainError):
    """A channel's payer and payee must be different accounts."""

    code = 329
    name = "self_channel"


@_register
class TooManyVouchersError(ChainError):
    """The claim carries more vouchers than the chain's `max_vouchers_per_claim`."""

    code = 330
    name = "too_many_vouchers"


# Services (300-319)


@_register
class OfferNotFoundError(ChainError):
    """The provider has no offer of this service kind."""

    code = 300
    name = "offer_not_found"


@_register
class OfferExistsError(ChainError):
    """The provider already has an offer of this service kind: update it instead."""

    code = 301
    name = "offer_exists"


@_register
class OfferLeavingError(ChainError):
    """The offer is leaving: it cannot be updated, left again or registered again until its
    stake has returned."""

    code = 302
    name = "offer_leaving"


@_register
class UnknownServiceKindError(ChainError):
    """The service kind is not one the chain's parameters list."""

    code = 303
    name = "unknown_service_kind"


@_register
class StakeTooLowError(ChainError):
    """The offer's stake would be below the minimum stake."""

    code = 304
    name = "stake_too_low"


@_register
class InvalidEndpointError(ChainError):
    """The endpoint is not an http or https URL with a host, or is longer than allowed."""

    code = 305
    name = "invalid_endpoint"


@_register
class InvalidLanguagesError(ChainError):
    """The languages are malformed, repeated or more than allowed."""

    code = 306
    name = "invalid_languages"


@_register
class InvalidSigningKeyError(ChainError):
    """The response-signing key is not a valid Ed25519 public key."""

    code = 307
    name = "invalid_signing_key"


# Governance (400-449)


@_register
class UnknownProposalError(ChainError):
    """No proposal has this id."""

    code = 400
    name = "unknown_proposal"


@_register
class NotVotingPeriodError(ChainError):
    """The proposal is not in its voting period: a vote is refused."""

    code = 401
    name = "not_voting_period"


@_register
class DepositClosedError(ChainError):
    """The proposal no longer takes deposits (its voting has ended, or it was dropped)."""

    code = 402
    name = "deposit_closed"


@_register
class DepositTooSmallError(ChainError):
    """The deposit at submission is below the part of the minimum deposit due then."""

    code = 403
    name = "deposit_too_small"


@_register
class InvalidVoteWeightsError(ChainError):
    """A weighted vote's options repeat or their weights do not sum to 1."""

    code = 404
    name = "invalid_vote_weights"


@_register
class InvalidProposalActionError(ChainError):
    """A proposal action has an unknown type, invalid fields or invalid parameters."""

    code = 405
    name = "invalid_proposal_action"


@_register
class CommunityPoolInsufficientError(ChainError):
    """A spend asks for more than the community pool holds."""

    code = 406
    name = "community_pool_insufficient"


@_register
class UpgradeHeightPassedError(ChainError):
    """A software upgrade names a height the chain has already reached."""

    code = 407
    name = "upgrade_height_passed"


# Skills (350-369)


@_register
class SkillNotFoundError(ChainError):
    """No skill is registered under this id."""

    code = 350
    name = "skill_not_found"


@_register
class SkillExistsError(ChainError):
    """The skill id is registered already (retired ids stay taken)."""

    code = 351
    name = "skill_exists"


@_register
class SkillRetiredError(ChainError):
    """The skill is retired: it cannot be updated, transferred or paid."""

    code = 352
    name = "skill_retired"


@_register
class NotSkillCreatorError(ChainError):
    """The signer is not the skill's creator."""

    code = 353
    name = "not_skill_creator"


@_register
class SkillFeeOverflowError(ChainError):
    """A use count times the skill's fee, or a settlement's total, exceeds 2^64-1 uvox."""

    code = 354
    name = "skill_fee_overflow"


@_register
class InvalidSkillIdError(ChainError):
    """The skill id is not an OVOS skill id (`<repo>.<author>`, lowercase)."""

    code = 355
    name = "invalid_skill_id"


@_register
class DuplicateSkillUseError(ChainError):
    """A settlement names the same skill twice."""

    code = 356
    name = "duplicate_skill_use"


# Governance: developer rewards (408-429)


@_register
class UnknownVestingError(ChainError):
    """No vesting spend has this id, or it has ended (paid out or cancelled)."""

    code = 408
    name = "unknown_vesting"


@_register
class UnknownRoundError(ChainError):
    """No funding round has this id."""

    code = 409
    name = "unknown_round"


@_register
class NotApplicationPeriodError(ChainError):
    """The funding round's application period is over: an application is refused."""

    code = 410
    name = "not_application_period"


@_register
class AlreadyAppliedError(ChainError):
    """The address has applied to this funding round already (one application each)."""

    code = 411
    name = "already_applied"


@_register
class ReviewerCannotApplyError(ChainError):
    """A reviewer of a funding round cannot apply to it."""

    code = 412
    name = "reviewer_cannot_apply"


@_register
class RoundFullError(ChainError):
    """The funding round has as many applicants as it takes."""

    code = 413
    name = "round_full"


@_register
class NotReviewerError(ChainError):
    """The signer is not one of the funding round's reviewers."""

    code = 414
    name = "not_reviewer"


@_register
class NotReviewPeriodError(ChainError):
    """The funding round is not in its review period: an allocation is refused."""

    code = 415
    name = "not_review_period"


@_register
class InvalidAllocationError(ChainError):
    """An allocation names an address that did not apply, names one twice, or exceeds the budget."""

    code = 416
    name = "invalid_allocation"


# Settings (390-399)


@_register
class SettingsRecordNotFoundError(ChainError):
    """The owner has no settings record with this id."""

    code = 390
    name = "settings_record_not_found"


@_register
class SettingsVersionConflictError(ChainError):
    """A settings write names a version other than the stored version + 1 (1 for a new record)."""

    code = 391
    name = "settings_version_conflict"


@_register
class SettingsStaleEpochError(ChainError):
    """A settings write names a key epoch other than the owner's current one."""

    code = 392
    name = "settings_stale_epoch"


@_register
class SettingsRecordTooLargeError(ChainError):
    """A settings ciphertext is longer than the chain's `max_record_bytes`."""

    code = 393
    name = "settings_record_too_large"


@_register
class SettingsEpochMismatchError(ChainError):
    """A key rotation names an epoch other than the owner's current epoch + 1."""

    code = 394
    name = "settings_epoch_mismatch"


@_register
class SettingsOwnerNotRecipientError(ChainError):
    """A key rotation does not wrap the new keys to the owner itself."""

    code = 395
    name = "settings_owner_not_recipient"


@_register
class SettingsDuplicateRecipientError(ChainError):
    """A key rotation wraps the keys twice to the same recipient."""

    code = 396
    name = "settings_duplicate_recipient"


@_register
class InvalidSettingsCiphertextError(ChainError):
    """A settings ciphertext or key wrap is not in its format (format byte, size)."""

    code = 397
    name = "invalid_settings_ciphertext"


@_register
class SettingsNoKeyError(ChainError):
    """The owner has no settings key yet: the first settings/Rotate sets epoch 1."""

    code = 398
    name = "settings_no_key"


@_register
class TooManySettingsRecordsError(ChainError):
    """The owner holds the most settings records the chain's `max_records_per_owner` allows."""

    code = 399
    name = "too_many_settings_records"


# Devices (370-379)


@_register
class PairingNotFoundError(ChainError):
    """No pending pairing request has this id (never made, or expired and pruned)."""

    code = 370
    name = "pairing_not_found"


@_register
class PairingExpiredError(ChainError):
    """The pairing request has expired: the device must ask for a new code."""

    code = 371
    name = "pairing_expired"


@_register
class PairingIdUsedError(ChainError):
    """The pairing id is taken: by a pending request, a device, or a removed device."""

    code = 372
    name = "pairing_id_used"


@_register
class DeviceNotFoundError(ChainError):
    """No device has this id."""

    code = 373
    name = "device_not_found"


@_register
class NotDeviceOwnerError(ChainError):
    """The signer is not the owner the device or pairing request names."""

    code = 374
    name = "not_device_owner"


@_register
class DeviceRemovedError(ChainError):
    """The device was removed: it can no longer be updated (its id is never reused)."""

    code = 375
    name = "device_removed"


@_register
class DeviceBlobTooLargeError(ChainError):
    """A device's encrypted blob is longer than the chain's `max_blob_bytes`."""

    code = 376
    name = "device_blob_too_large"


@_register
class TooManyDevicesError(ChainError):
    """The owner has the most active devices the chain's `max_devices_per_owner` allows."""

    code = 377
    name = "too_many_devices"


@_register
class TooManyPairingsError(ChainError):
    """The owner has the most pending pairing requests `max_pairings_per_owner` allows."""

    code = 378
    name = "too_many_pairings"


# Inbox (380-389)


@_register
class InboxMessageNotFoundError(ChainError):
    """The owner's inbox holds no message with this id (never posted, deleted or expired)."""

    code = 380
    name = "inbox_message_not_found"


@_register
class InboxMessageTooLargeError(ChainError):
    """An inbox message's ciphertext is longer than the chain's `max_message_bytes`."""

    code = 381
    name = "inbox_message_too_large"


@_register
class InboxFullError(ChainError):
    """The owner's inbox holds the most messages `max_messages_per_owner` allows."""

    code = 382
    name = "inbox_full"


@_register
class InboxExpiryInvalidError(ChainError):
    """An inbox message's expiry is not after the block time or beyond `max_ttl_seconds`."""

    code = 383
    name = "inbox_expiry_invalid"


# Contracts: the wasm module (460-499)


@_register
class InvalidWasmError(ChainError):
    """Uploaded code is not a valid WebAssembly module (it does not parse, validate or compile)."""

    code = 460
    name = "invalid_wasm"


@_register
class WasmTooLargeError(ChainError):
    """Uploaded code is larger than the wasm module's bound (512 KiB)."""

    code = 461
    name = "wasm_too_large"


@_register
class WasmForbiddenImportError(ChainError):
    """The code imports something outside the contract host API (module `voxpop`, `env.abort`)."""

    code = 462
    name = "wasm_forbidden_import"


@_register
class WasmFloatOpcodeError(ChainError):
    """The code uses a floating-point instruction or value type: contracts compute in integers."""

    code = 463
    name = "wasm_float_opcode"


@_register
class WasmMissingExportError(ChainError):
    """The code lacks an export the ABI requires, or an export has the wrong type."""

    code = 464
    name = "wasm_missing_export"


@_register
class WasmLimitsError(ChainError):
    """The code declares more memory, tables, functions or globals than the chain's caps."""

    code = 465
    name = "wasm_limits"


@_register
class UnknownCodeError(ChainError):
    """No stored code has this id."""

    code = 466
    name = "unknown_code"


@_register
class UnknownContractError(ChainError):
    """No contract has this address."""

    code = 467
    name = "unknown_contract"


@_register
class ContractTrapError(ChainError):
    """The contract trapped (unreachable, out-of-bounds access, stack overflow, ...)."""

    code = 468
    name = "contract_trap"


@_register
class ContractRefusedError(ChainError):
    """The contract returned a non-zero code: it refused the call (its error text follows)."""

    code = 469
    name = "contract_refused"


@_register
class ContractAbortedError(ChainError):
    """The contract called `env.abort` (an AssemblyScript assertion or runtime error)."""

    code = 470
    name = "contract_aborted"


@_register
class ContractReentrancyError(ChainError):
    """A call into a contract already on the call stack."""

    code = 471
    name = "contract_reentrancy"


@_register
class ContractCallDepthError(ChainError):
    """Contract calls nest deeper than the chain's limit."""

    code = 472
    name = "contract_call_depth"


@_register
class ContractMemoryError(ChainError):
    """A host call named memory outside the contract's linear memory."""

    code = 473
    name = "contract_memory"


@_register
class ContractHostCallError(ChainError):
    """A host call's input is invalid (bad JSON, a key or value too large, too many events)."""

    code = 474
    name = "contract_host_call"


@_register
class ContractReadOnlyError(ChainError):
    """A query (read-only) tried to write, delete, emit or dispatch."""

    code = 475
    name = "contract_read_only"


@_register
class NotContractAdminError(ChainError):
    """Only the contract's admin (or governance) may migrate it or change its admin."""

    code = 476
    name = "not_contract_admin"


@_register
class ContractSubmsgError(ChainError):
    """A dispatched sub-message is of a type contracts may not send, or is not signed by the
    contract."""

    code = 477
    name = "contract_submsg"


@_register
class ContractQueryError(ChainError):
    """A smart query found the node answering as many others as it runs at once: retry."""

    code = 478
    name = "contract_query"


# Storage (420-449)


@_register
class StorageProviderNotFoundError(ChainError):
    """No storage provider is registered at this address."""

    code = 420
    name = "storage_provider_not_found"


@_register
class StorageProviderExistsError(ChainError):
    """The address is already a registered storage provider (Update changes its terms)."""

    code = 421
    name = "storage_provider_exists"


@_register
class StorageCollateralLowError(ChainError):
    """The provider's collateral is below the chain's `min_collateral`: it takes no new shards."""

    code = 422
    name = "storage_collateral_low"


@_register
class StorageProviderBusyError(ChainError):
    """The provider still holds placements (pending, active or for repair): it cannot leave."""

    code = 423
    name = "storage_provider_busy"


@_register
class StorageOverCapacityError(ChainError):
    """The provider's declared capacity cannot take the shard (or is below what it holds)."""

    code = 424
    name = "storage_over_capacity"


@_register
class StoragePriceTooHighError(ChainError):
    """The provider's price per GiB-epoch is above the deal's `max_price`."""

    code = 425
    name = "storage_price_too_high"


@_register
class StorageBadCodingError(ChainError):
    """A deal's k, n, sizes, leaf size or roots are inconsistent or outside the chain's limits."""

    code = 426
    name = "storage_bad_coding"


@_register
class StorageDealNotFoundError(ChainError):
    """No open deal has this object id (never opened, closed, or ended)."""

    code = 427
    name = "storage_deal_not_found"


@_register
class StorageDealExistsError(ChainError):
    """A deal with this object id is open already (object ids are chosen at random by owners)."""

    code = 428
    name = "storage_deal_exists"


@_register
class StorageWrongOwnerError(ChainError):
    """Only the deal's owner may replace a placement or close the deal."""

    code = 429
    name = "storage_wrong_owner"


@_register
class StorageNotPlacedError(ChainError):
    """The deal has no such shard index, or the signer is not the provider placed there."""

    code = 430
    name = "storage_not_placed"


@_register
class StorageNotPendingError(ChainError):
    """The placement is already confirmed."""

    code = 431
    name = "storage_not_pending"


@_register
class StorageWrongEpochError(ChainError):
    """A proof names an epoch other than the current one, or one without challenges."""

    code = 432
    name = "storage_wrong_epoch"


@_register
class StorageNotChallengedError(ChainError):
    """A proof answers no challenge of the provider (another shard or another leaf)."""

    code = 433
    name = "storage_not_challenged"


@_register
class StorageBadProofError(ChainError):
    """A proof's leaf and Merkle path do not lead to the shard's root."""

    code = 434
    name = "storage_bad_proof"


@_register
class StorageProofLateError(ChainError):
    """The epoch's proof deadline has passed: the challenges were judged."""

    code = 435
    name = "storage_proof_late"


@_register
class StorageNotReplaceableError(ChainError):
    """The placement is neither marked for repair, nor pending past `confirm_blocks`."""

    code = 436
    name = "storage_not_replaceable"


@_register
class StorageDuplicateProviderError(ChainError):
    """A provider appears twice in one deal: each shard goes to a different provider."""

    code = 437
    name = "storage_duplicate_provider"


@_register
class StorageDealEndingError(ChainError):
    """The deal has no epoch left to place a shard for."""

    code = 438
    name = "storage_deal_ending"


@_register
class StorageShardTooLargeError(ChainError):
    """A deal's shards are larger than the chain's `max_shard_size`."""

    code = 439
    name = "storage_shard_too_large"


@_register
class StorageEpochBlocksFixedError(ChainError):
    """`epoch_blocks` cannot change once set: deals count their terms in epochs."""

    code = 440
    name = "storage_epoch_blocks_fixed"


# Beacon (450-459): ProcessProposal's reasons to refuse a block's beacon entry


@_register
class BeaconEntryMissingError(ChainError):
    """The previous height's votes carried extensions; the block does not start with their entry."""

    code = 450
    name = "beacon_entry_missing"


@_register
class BeaconEntryMalformedError(ChainError):
    """The beacon entry is not canonical CBOR {"beacon": [[address, proof], ...]} by address."""

    code = 451
    name = "beacon_entry_malformed"


@_register
class BeaconProofInvalidError(ChainError):
    """A validator's VRF proof in the beacon entry does not verify under its consensus key."""

    code = 452
    name = "beacon_proof_invalid"


@_register
class BeaconPowerTooLowError(ChainError):
    """The beacon entry's validators hold no more than 2/3 of the last validator set's power."""

    code = 453
    name = "beacon_power_too_low"


@_register
class BeaconEntryUnexpectedError(ChainError):
    """A beacon entry in a block whose previous height's votes carried no extensions."""

    code = 454
    name = "beacon_entry_unexpected"


@_register
class BeaconUnknownValidatorError(ChainError):
    """The beacon entry names an address that is not in the last validator set."""

    code = 455
    name = "beacon_unknown_validator"


# Consent (500-519): access grants to stored objects, their access records and misuse reports


@_register
class ConsentUnknownPurposeError(ChainError):
    """The grant's purpose is not in the chain's purpose vocabulary (`purposes` param)."""

    code = 500
    name = "consent_unknown_purpose"


@_register
class ConsentExpiryPastError(ChainError):
    """The grant's expiry is not after the block time."""

    code = 501
    name = "consent_expiry_past"


@_register
class ConsentBadThresholdError(ChainError):
    """The threshold m is below 1 or above the number of nodes n, or n is above `max_nodes`."""

    code = 502
    name = "consent_bad_threshold"


@_register
class ConsentDuplicateNodeError(ChainError):
    """A grant names the same node twice."""

    code = 503
    name = "consent_duplicate_node"


@_register
class ConsentBadNodeError(ChainError):
    """A grant's node has no active `reencrypt` services offer staked at least `min_node_stake`."""

    code = 504
    name = "consent_bad_node"


@_register
class ConsentBadObjectsError(ChainError):
    """The grant's objects are neither a list nor a committed set, repeat an id, or are too many."""

    code = 505
    name = "consent_bad_objects"


@_register
class ConsentObjectNotOwnedError(ChainError):
    """A listed object is not a live storage deal of the grant's owner."""

    code = 506
    name = "consent_object_not_owned"


@_register
class ConsentGrantExistsError(ChainError):
    """An access grant with this id exists (ids are never reused)."""

    code = 507
    name = "consent_grant_exists"


@_register
class ConsentGrantNotFoundError(ChainError):
    """No access grant with this id."""

    code = 508
    name = "consent_grant_not_found"


@_register
class ConsentNotOwnerError(ChainError):
    """Only the grant's owner may revoke it."""

    code = 509
    name = "consent_not_owner"


@_register
class ConsentGrantNotLiveError(ChainError):
    """The grant was revoked or expired at the answer's height (or is already revoked)."""

    code = 510
    name = "consent_grant_not_live"


@_register
class ConsentBadRequestError(ChainError):
    """An access request does not verify, or was not signed by the grant's grantee."""

    code = 511
    name = "consent_bad_request"


@_register
class ConsentBadAnswerError(ChainError):
    """A node answer does not verify under its node's account key, or does not match its request."""

    code = 512
    name = "consent_bad_answer"


@_register
class ConsentNodeNotInGrantError(ChainError):
    """The answering node is not one of the grant's nodes, or not the signer of the Record."""

    code = 513
    name = "consent_node_not_in_grant"


@_register
class ConsentObjectNotCoveredError(ChainError):
    """The requested object is not among the grant's objects (or its Merkle proof fails)."""

    code = 514
    name = "consent_object_not_covered"


@_register
class ConsentAnswerHeightError(ChainError):
    """The answer's height is in the future or older than `record_window_blocks`."""

    code = 515
    name = "consent_answer_height"


@_register
class ConsentTooManyRecordsError(ChainError):
    """A Record carries more than `max_records_per_tx` records."""

    code = 516
    name = "consent_too_many_records"


@_register
class ConsentAlreadyRecordedError(ChainError):
    """This node's answer to this request is already on record."""

    code = 517
    name = "consent_already_recorded"


@_register
class ConsentNoMisuseError(ChainError):
    """The reported answer was given while its grant was live: nothing to slash."""

    code = 518
    name = "consent_no_misuse"


@_register
class ConsentMisuseReportedError(ChainError):
    """This answer was already reported and its node slashed for it."""

    code = 519
    name = "consent_misuse_reported"


# Market (520-539): buyers' offers for data, escrowed; sellers paid per accessed object


@_register
class MarketOfferNotFoundError(ChainError):
    """No open offer has this id."""

    code = 520
    name = "market_offer_not_found"


@_register
class MarketOfferExistsError(ChainError):
    """An offer with this id is open or was closed: offer ids are never reused."""

    code = 521
    name = "market_offer_exists"


@_register
class MarketBadBudgetError(ChainError):
    """The offer's budget is not exactly price x max_objects."""

    code = 522
    name = "market_bad_budget"


@_register
class MarketBadTermsError(ChainError):
    """The offer's terms are out of bounds: kind, language, purpose, length range, expiry,
    access duration or object count."""

    code = 523
    name = "market_bad_terms"


@_register
class MarketWrongBuyerError(ChainError):
    """Only the offer's buyer may close or dispute it."""

    code = 524
    name = "market_wrong_buyer"


@_register
class MarketOfferEndedError(ChainError):
    """The offer's time for settlements is over (expires + access_seconds + settle_seconds)."""

    code = 525
    name = "market_offer_ended"


@_register
class MarketOfferOpenError(ChainError):
    """The offer cannot close before its time for settlements is over."""

    code = 526
    name = "market_offer_open"


@_register
class MarketGrantNotFoundError(ChainError):
    """No access grant has this id."""

    code = 527
    name = "market_grant_not_found"


@_register
class MarketGrantMismatchError(ChainError):
    """The grant is not one this offer pays for: another offer, grantee, owner or purpose, or
    access beyond the offer's end."""

    code = 528
    name = "market_grant_mismatch"


@_register
class MarketNotAccessedError(ChainError):
    """The buyer's access to the object under the grant has not been counted on chain."""

    code = 529
    name = "market_not_accessed"


@_register
class MarketAlreadySettledError(ChainError):
    """The object was already settled (paid, held or disputed) under this offer."""

    code = 530
    name = "market_already_settled"


@_register
class MarketOfferFullError(ChainError):
    """The offer has settled max_objects objects: its budget is spoken for."""

    code = 531
    name = "market_offer_full"


@_register
class MarketNotHeldError(ChainError):
    """The object's payment is not held in its dispute window (never settled, paid, or
    disputed already)."""

    code = 532
    name = "market_not_held"


@_register
class MarketDisputeLimitError(ChainError):
    """The offer's buyer has used every dispute the offer allows (max_dispute_bps)."""

    code = 533
    name = "market_dispute_limit"


@_register
class MarketPaymentsHeldError(ChainError):
    """Payments of the offer are still held in their dispute windows."""

    code = 534
    name = "market_payments_held"


# htlc: hash-time-locked uvox and swap offers (560-579)


@_register
class HtlcSelfLockError(ChainError):
    """A lock's (or offer's) two parties are the same account."""

    code = 560
    name = "htlc_self_lock"


@_register
class HtlcLockExistsError(ChainError):
    """A lock with this id (sender, recipient, hashlock) exists or existed: use a new secret."""

    code = 561
    name = "htlc_lock_exists"


@_register
class HtlcLockNotFoundError(ChainError):
    """No lock with this id."""

    code = 562
    name = "htlc_lock_not_found"


@_register
class HtlcWrongPreimageError(ChainError):
    """The preimage does not hash (sha256) to the lock's hashlock."""

    code = 563
    name = "htlc_wrong_preimage"


@_register
class HtlcExpiredError(ChainError):
    """The lock's timeout has passed: only a refund can end it now."""

    code = 564
    name = "htlc_expired"


@_register
class HtlcNotExpiredError(ChainError):
    """The lock's timeout has not passed: it cannot be refunded yet."""

    code = 565
    name = "htlc_not_expired"


@_register
class HtlcSettledError(ChainError):
    """The lock was already claimed or refunded."""

    code = 566
    name = "htlc_settled"


@_register
class HtlcBadTimeoutError(ChainError):
    """The timeout is not after the block time, or further than the params allow."""

    code = 567
    name = "htlc_bad_timeout"


@_register
class HtlcBadOfferError(ChainError):
    """A swap offer's side, asset, amount, address or timeouts are not valid."""

    code = 568
    name = "htlc_bad_offer"


@_register
class HtlcOfferNotFoundError(ChainError):
    """No open swap offer with this id."""

    code = 569
    name = "htlc_offer_not_found"


@_register
class HtlcOfferTakenError(ChainError):
    """The swap offer was already taken."""

    code = 570
    name = "htlc_offer_taken"


@_register
class HtlcOfferExpiredError(ChainError):
    """The swap offer's expiry has passed."""

    code = 571
    name = "htlc_offer_expired"


@_register
class HtlcNotOffererError(ChainError):
    """Only the offer's offerer can cancel it."""

    code = 572
    name = "htlc_not_offerer"


# --- fee market and issuance (540-559) ----------------------------------------------------------


@_register
class FeeBelowBaseError(ChainError):
    """The tx's fee is below its gas limit times the chain's current base gas price."""

    code = 540
    name = "fee_below_base"


@_register
class FeeMarketParamsError(InvalidGenesisError):
    """The fee market params would let the base price run away, oscillate or leave its bounds
    (a step that more than doubles it in a block, a target not below the block's gas, a floor
    above the ceiling, a fee beyond 64 bits)."""

    code = 541
    name = "feemarket_bad_params"


@_register
class IssuanceParamsError(InvalidGenesisError):
    """The issuance params would let inflation leave its bounds (min above max, a start outside
    them, no bonded-ratio goal, a yearly change beyond 100 %)."""

    code = 542
    name = "issuance_bad_params"
