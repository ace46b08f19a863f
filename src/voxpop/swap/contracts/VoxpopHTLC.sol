// SPDX-License-Identifier: MIT
// The Ethereum leg of a voxpop swap: ether locked for a recipient under sha256(secret) until a
// block timestamp. The recipient's side claims with the 32-byte secret before the timelock (the
// secret becomes public, in the event and in the lock's record); from the timelock on only a
// refund to the sender ends it. Anyone may send a claim or a refund: funds go only to the
// recipient or the sender. Compiled with the pinned solc in tools/solc (see docs/swaps.md).
pragma solidity 0.8.30;

contract VoxpopHTLC {
    uint8 internal constant OPEN = 1;
    uint8 internal constant CLAIMED = 2;
    uint8 internal constant REFUNDED = 3;

    struct Lock {
        address sender;
        address recipient;
        uint256 amount;
        bytes32 hashlock;
        uint64 timelock;
        uint8 state; // 0 none, 1 open, 2 claimed, 3 refunded
        bytes32 preimage; // zero until claimed
    }

    mapping(bytes32 => Lock) public locks;

    event Locked(
        bytes32 indexed id,
        address indexed sender,
        address indexed recipient,
        uint256 amount,
        bytes32 hashlock,
        uint64 timelock
    );
    event Claimed(bytes32 indexed id, bytes32 preimage);
    event Refunded(bytes32 indexed id);

    error NoValue();
    error BadRecipient();
    error BadTimelock();
    error LockExists();
    error NoLock();
    error Settled();
    error Expired();
    error NotExpired();
    error WrongPreimage();
    error TransferFailed();

    /// The id of the lock `sender` makes for `recipient` under `hashlock` (as the VOX chain's).
    function lockId(address sender, address recipient, bytes32 hashlock) public pure returns (bytes32) {
        return sha256(abi.encodePacked(sender, recipient, hashlock));
    }

    function lock(address recipient, bytes32 hashlock, uint64 timelock) external payable returns (bytes32 id) {
        if (msg.value == 0) revert NoValue();
        if (recipient == address(0) || recipient == msg.sender) revert BadRecipient();
        if (timelock <= block.timestamp) revert BadTimelock();
        id = lockId(msg.sender, recipient, hashlock);
        if (locks[id].state != 0) revert LockExists();
        locks[id] = Lock(msg.sender, recipient, msg.value, hashlock, timelock, OPEN, bytes32(0));
        emit Locked(id, msg.sender, recipient, msg.value, hashlock, timelock);
    }

    /// Pay the lock to its recipient; `preimage` is exactly 32 bytes by its type.
    function claim(bytes32 id, bytes32 preimage) external {
        Lock storage l = locks[id];
        if (l.state == 0) revert NoLock();
        if (l.state != OPEN) revert Settled();
        if (block.timestamp >= l.timelock) revert Expired();
        if (sha256(abi.encodePacked(preimage)) != l.hashlock) revert WrongPreimage();
        l.state = CLAIMED;
        l.preimage = preimage;
        emit Claimed(id, preimage);
        (bool ok, ) = l.recipient.call{value: l.amount}("");
        if (!ok) revert TransferFailed();
    }

    /// Return the lock to its sender, at or after its timelock.
    function refund(bytes32 id) external {
        Lock storage l = locks[id];
        if (l.state == 0) revert NoLock();
        if (l.state != OPEN) revert Settled();
        if (block.timestamp < l.timelock) revert NotExpired();
        l.state = REFUNDED;
        emit Refunded(id);
        (bool ok, ) = l.sender.call{value: l.amount}("");
        if (!ok) revert TransferFailed();
    }
}
