"""Plain double-entry style accounting for backtests: holdings, flows and PnL attribution.

`Book` holds every position of every venue under its canonical key (the same keys the
SimulatedLedgers and the monitor use) and values them in the share class (USDT or ETH):

- ``BaseToken``: amount x price; ``LST``: amount x rate x price of the underlying;
- ``aToken``: amount x price of the reserve; the amount grows with the reserve's
  **liquidity index**; ``debtToken``: minus amount x price, growing with the **variable borrow
  index**;
- ``Perp``: quantity x (mark - entry), i.e. unrealized PnL; the margin (wallet balance, funding,
  realized PnL) sits in the venue's ``BaseToken:USDT`` key. Equity = spot + margin balance + uPnL.

Every change of equity is booked to exactly one component, each computed from its own flow:

==========  ===============================================================================
funding     at settlement steps: ``-qty x mark x rate`` (a short receives when rate > 0)
staking     LST rate drift: ``amount x (r1 - r0) x underlying price``
lending     aToken growth: ``amount x (I1/I0 - 1) x price``
borrow      debt growth: ``-debt x (B1/B0 - 1) x price``
fees        trading fees: ``-traded value x fee rate``
price       every holding's revaluation: spot ``q x dS``, perp ``q x dMark`` (basis), LST and
            AAVE legs ``amount x rate x dP``, cash in a foreign share class
==========  ===============================================================================

Price is not a residual: `Book.check_identity` compares the sum of the components with the
equity change computed from holdings, which tests assert to ~1e-9 relative.
"""

from __future__ import annotations

from enum import IntEnum

from factory.assets import UNDERLYING
from factory.positions import PositionKey, PositionType

__all__ = ["COMPONENTS", "Book", "Kind", "Tick"]

COMPONENTS = ("funding", "staking", "lending", "borrow", "fees", "price")


class Kind(IntEnum):
    """How a key is valued (the first item of `Book.spec`)."""

    CASH = 0  # BaseToken: spot or cash
    LST = 1
    ATOKEN = 2
    DEBT = 3
    PERP = 4


_CASH, _LST, _ATOKEN, _DEBT, _PERP = (int(k) for k in Kind)  # plain ints for the hot loop
_KIND = {
    PositionType.BaseToken: _CASH,
    PositionType.LST: _LST,
    PositionType.aToken: _ATOKEN,
    PositionType.debtToken: _DEBT,
    PositionType.Perp: _PERP,
}


class Tick:
    """Market state at one step, in plain floats.

    Attributes:
        epoch_s: epoch seconds.
        usd: USD(T) price per underlying (``USD`` is 1.0, ``BTC``, ``ETH``).
        under: price per underlying in the share class (same as ``usd`` for USDT).
        usdt_price: value of one USDT in the share class.
        lst: LST rates (``weETH`` -> ETH per weETH).
        marks: perp mark per underlying (USDT); a perp whose venue has its own series has its
            mark under its position key (``bybit:Perp:BTCUSDT``), which wins.
        funding: funding rate per underlying (paid on every perp of it), or per perp key (paid on
            that perp only), only at settlement steps.
        liq, borrow: AAVE liquidity / variable borrow index per reserve.
    """

    __slots__ = ("borrow", "epoch_s", "funding", "liq", "lst", "marks", "under", "usd", "usdt_price")

    def __init__(self, epoch_s, usd, under, usdt_price, lst, marks, funding, liq, borrow):
        self.epoch_s = epoch_s
        self.usd = usd
        self.under = under
        self.usdt_price = usdt_price
        self.lst = lst
        self.marks = marks
        self.funding = funding
        self.liq = liq
        self.borrow = borrow

    def unit(self, token: str) -> float:
        """Price of one ``token`` in the share class."""
        p = self.under[UNDERLYING.get(token, token)]
        r = self.lst.get(token)
        return p if r is None else p * r

    def unit_usd(self, token: str) -> float:
        """Price of one ``token`` in USD(T)."""
        p = self.usd[UNDERLYING.get(token, token)]
        r = self.lst.get(token)
        return p if r is None else p * r


class Book:
    """Holdings of every venue in canonical keys, with attribution of every equity change.

    Args:
        share_class: ``USDT``, ``ETH`` or ``BTC``; equity and attribution are in its units.
        leg_marks: ticks carry a mark per perp key (legs on venues with their own series);
            False (one mark per underlying) keeps the hot path to one lookup.
    """

    def __init__(self, share_class: str = "USDT", leg_marks: bool = False):
        self.share_class = share_class
        #: True when ticks carry marks per perp key (legs reading their own venue's series)
        self.leg_marks = leg_marks
        self.amounts: dict[str, float] = {}
        self.entry: dict[str, float] = {}
        self.attribution: dict[str, float] = dict.fromkeys(COMPONENTS, 0.0)
        self.deposits = 0.0
        self._tick: Tick | None = None
        self.changed: set[str] = set()
        self.trades = 0
        self.traded_value = 0.0
        self._spec: dict[str, tuple[int, str, str, str]] = {}
        self._perps: dict[str, list[str]] = {}

    # -- keys ----------------------------------------------------------------------------

    def spec(self, key: str) -> tuple[int, str, str, str]:
        """Return ``(kind, token, underlying, venue)`` for a key (validated once)."""
        s = self._spec.get(key)
        if s is None:
            k = PositionKey(key)
            kind = _KIND[k.type]
            sym = k.symbol
            if kind == _ATOKEN:
                token = sym[1:]
            elif kind == _DEBT:
                token = sym[4:]
            elif kind == _PERP:
                token = sym.removesuffix("USDT")
            else:
                token = sym
            s = (kind, token, UNDERLYING.get(token, token), k.venue)
            self._spec[key] = s
            if kind == _PERP:
                self._perps.setdefault(s[2], []).append(key)
        return s

    def get(self, key: str) -> float:
        return self.amounts.get(key, 0.0)

    def _add(self, key: str, delta: float) -> None:
        self.spec(key)
        self.amounts[key] = self.amounts.get(key, 0.0) + delta
        self.changed.add(key)

    def perps(self, underlying: str) -> list[str]:
        """Return the perp keys on ``underlying`` this book has seen."""
        return list(self._perps.get(underlying, ()))

    # -- valuation -----------------------------------------------------------------------

    @property
    def tick(self) -> Tick:
        """The tick the book is valued at.

        Raises:
            RuntimeError: before the first `advance`.
        """
        if self._tick is None:
            raise RuntimeError("the book has no tick yet (advance it first)")
        return self._tick

    def value(self, key: str, tick: Tick | None = None) -> float:
        """Return one holding's value in the share class."""
        t = tick or self.tick
        kind, token, under, _ = self.spec(key)
        a = self.amounts.get(key, 0.0)
        if kind == _PERP:
            mark = self.mark(key, t) if self.leg_marks else t.marks[under]
            return a * (mark - self.entry.get(key, 0.0)) * t.usdt_price
        if kind == _DEBT:
            return -a * t.unit(token)
        return a * t.unit(token)

    def equity(self, tick: Tick | None = None) -> float:
        """Return total equity in the share class, computed from holdings."""
        t = tick or self.tick
        return sum(self.value(k, t) for k in self.amounts)

    def perp_notional(self, tick: Tick | None = None) -> float:
        """Return the summed |quantity| x mark of every perp, in the share class."""
        t = tick or self.tick
        total = 0.0
        for under, keys in self._perps.items():
            if self.leg_marks:
                total += sum(abs(self.amounts.get(k, 0.0)) * self.mark(k, t) for k in keys)
            else:
                total += sum(abs(self.amounts.get(k, 0.0)) for k in keys) * t.marks[under]
        return total * t.usdt_price

    def unrealized(self, key: str, tick: Tick | None = None) -> float:
        """Return a perp's unrealized PnL in USDT."""
        t = tick or self.tick
        return self.amounts.get(key, 0.0) * (self.mark(key, t) - self.entry.get(key, 0.0))

    def mark(self, key: str, tick: Tick | None = None) -> float:
        """Return a perp's mark: its own venue's when the tick has one, else its underlying's."""
        marks = (tick or self.tick).marks
        if self.leg_marks:
            m = marks.get(key)
            if m is not None:
                return m
        return marks[self._spec[key][2]]

    def check_identity(self, rel_tol: float = 1e-9) -> float:
        """Return the relative gap between equity change and summed attribution.

        Raises:
            AssertionError: the gap exceeds ``rel_tol`` (an accounting bug).
        """
        change = self.equity() - self.deposits
        total = sum(self.attribution.values())
        scale = max(abs(self.deposits), 1e-12)
        gap = abs(change - total) / scale
        if gap > rel_tol:
            raise AssertionError(
                f"attribution {total!r} != equity change {change!r} (gap {gap:.3g})"
            )
        return gap

    # -- time ----------------------------------------------------------------------------

    def advance(self, tick: Tick) -> None:
        """Move to ``tick``: revalue holdings, accrue AAVE interest, book funding settlements."""
        prev = self._tick
        self._tick = tick
        if prev is None:
            return
        att = self.attribution
        amounts = self.amounts
        price = staking = lending = borrow = 0.0
        fx0, fx1 = prev.usdt_price, tick.usdt_price
        for key, a in amounts.items():
            if a == 0.0:
                continue
            kind, token, under, _ = self._spec[key]
            if kind == _PERP:
                if self.leg_marks:  # a leg reading its own venue's series
                    m0, m1 = self.mark(key, prev), self.mark(key, tick)
                else:
                    m0, m1 = prev.marks[under], tick.marks[under]
                price += a * (m1 - m0) * fx1
                if fx0 != fx1:
                    price += a * (m0 - self.entry.get(key, 0.0)) * (fx1 - fx0)
                continue
            sign = 1.0
            if kind == _ATOKEN:
                a1 = a * tick.liq[token] / prev.liq[token]
                lending += (a1 - a) * tick.unit(token)
                amounts[key] = a1
                self.changed.add(key)
            elif kind == _DEBT:
                a1 = a * tick.borrow[token] / prev.borrow[token]
                borrow -= (a1 - a) * tick.unit(token)
                amounts[key] = a1
                self.changed.add(key)
                sign = -1.0
            u0, u1 = prev.under[under], tick.under[under]
            r1 = tick.lst.get(token)
            if r1 is None:
                price += sign * a * (u1 - u0)
            else:
                r0 = prev.lst[token]
                staking += sign * a * (r1 - r0) * u1
                price += sign * a * r0 * (u1 - u0)
        att["price"] += price
        att["staking"] += staking
        att["lending"] += lending
        att["borrow"] += borrow
        if tick.funding:
            for name, rate in tick.funding.items():
                for key in (name,) if name in self._spec else self._perps.get(name, ()):
                    q = amounts.get(key, 0.0)
                    if q:
                        pay = -q * self.mark(key, tick) * rate
                        self._add(f"{self._spec[key][3]}:BaseToken:USDT", pay)
                        att["funding"] += pay * fx1

    # -- flows at the current tick -------------------------------------------------------

    def deposit(self, key: str, amount: float) -> None:
        """Add outside capital (not PnL): initial equity."""
        self._add(key, amount)
        self.deposits += amount * self.tick.unit(self.spec(key)[1])

    def transfer(self, src: str, dst: str, amount: float) -> None:
        """Move ``amount`` of one token between keys (venues, supply/withdraw): value-neutral."""
        if self.spec(src)[1] != self.spec(dst)[1]:
            raise ValueError(f"transfer {src} -> {dst}: different tokens")
        if amount:
            self._add(src, -amount)
            self._add(dst, amount)

    def borrow(self, debt_key: str, dst: str, amount: float) -> None:
        """Borrow ``amount`` of a reserve into ``dst`` (debt and asset grow together)."""
        self._add(debt_key, amount)
        self._add(dst, amount)

    def repay(self, debt_key: str, src: str, amount: float) -> None:
        """Repay ``amount`` of a debt from ``src``."""
        self._add(src, -amount)
        self._add(debt_key, -amount)

    def swap(self, src: str, dst: str, amount: float, fee_rate: float) -> float:
        """Convert ``amount`` of ``src``'s token into ``dst``'s token at the tick's prices.

        The fee is ``fee_rate`` of the value given up. Returns the amount received.
        """
        t = self.tick
        value = amount * t.unit(self.spec(src)[1])
        fee = abs(value) * fee_rate
        got = (value - fee) / t.unit(self.spec(dst)[1])
        self._add(src, -amount)
        self._add(dst, got)
        self.attribution["fees"] -= fee
        self.trades += 1
        self.traded_value += abs(value)
        return got

    def trade_perp(self, key: str, dq: float, fee_rate: float) -> None:
        """Change a perp position by ``dq`` at the mark; realized PnL and fee hit the venue cash."""
        if dq == 0.0:
            return
        t = self.tick
        venue = self.spec(key)[3]
        cash = f"{venue}:BaseToken:USDT"
        mark = self.mark(key, t)
        q = self.amounts.get(key, 0.0)
        e = self.entry.get(key, 0.0)
        new = q + dq
        if q == 0.0 or (q > 0) == (dq > 0):  # open or increase
            self.entry[key] = (q * e + dq * mark) / new
        else:
            closed = -dq if abs(dq) <= abs(q) else q  # the part of q that is closed
            self._add(cash, closed * (mark - e))
            if abs(dq) > abs(q):  # flipped: the rest opens at the mark
                self.entry[key] = mark
        fee = abs(dq) * mark * fee_rate
        self._add(cash, -fee)
        self._add(key, dq)
        self.attribution["fees"] -= fee * t.usdt_price
        self.trades += 1
        self.traded_value += abs(dq) * mark * t.usdt_price
