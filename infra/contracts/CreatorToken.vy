# pragma version 0.4.3
"""
@title CreatorToken
@notice A creator's token on the ONE platform: an ERC-20 that the platform (the deploying
        account, its owner, and the platform's other signing accounts, its minters) mints when a
        purchase is paid for, and burns when a purchase is rolled back. Holders may burn their own
        tokens; the owner and the minters may burn any holder's (the saga's compensation undoes its
        own mint).
"""

from ethereum.ercs import IERC20

implements: IERC20

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event OwnershipTransferred:
    previous_owner: indexed(address)
    new_owner: indexed(address)

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
maxSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
owner: public(address)
minters: public(HashMap[address, bool])


@deploy
def __init__(name_: String[64], symbol_: String[32], max_supply: uint256, minters_: DynArray[address, 64]):
    self.name = name_
    self.symbol = symbol_
    self.decimals = 0
    self.maxSupply = max_supply
    self.owner = msg.sender
    for minter: address in minters_:
        self.minters[minter] = True
    log OwnershipTransferred(previous_owner=empty(address), new_owner=msg.sender)


@internal
@view
def _mints(account: address) -> bool:
    return account == self.owner or self.minters[account]


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "transfer to the zero address"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@internal
def _burn(holder: address, amount: uint256):
    self.balanceOf[holder] -= amount
    self.totalSupply -= amount
    log Transfer(sender=holder, receiver=empty(address), value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    self.allowance[sender][msg.sender] -= amount
    self._transfer(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256) -> bool:
    assert self._mints(msg.sender), "only the owner mints (and its minters)"
    assert receiver != empty(address), "mint to the zero address"
    if self.maxSupply != 0:
        assert self.totalSupply + amount <= self.maxSupply, "over the maximum supply"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)
    return True


@external
def burn(amount: uint256) -> bool:
    self._burn(msg.sender, amount)
    return True


@external
def burnFrom(holder: address, amount: uint256) -> bool:
    if not self._mints(msg.sender):
        self.allowance[holder][msg.sender] -= amount
    self._burn(holder, amount)
    return True


@external
def setMinter(account: address, allowed: bool):
    assert msg.sender == self.owner, "only the owner"
    self.minters[account] = allowed


@external
def transferOwnership(new_owner: address):
    assert msg.sender == self.owner, "only the owner"
    assert new_owner != empty(address), "owner cannot be the zero address"
    log OwnershipTransferred(previous_owner=self.owner, new_owner=new_owner)
    self.owner = new_owner
