"""What a model call costs, from `genai-prices` (or the deployment's own `price`).

Per-token rates are looked up once per model and cached: `calc_price` takes ~100 µs, too
slow for every call's reservation and settlement. A model whose price depends on the
prompt's size (tiered prices) is priced call by call with `calc_price` instead. Costs are
whole nano-dollars (1e-9 USD), so budgets add up exactly; worst cases round up.
"""

from __future__ import annotations

import math
import threading
from decimal import Decimal

from plangate.model.config import ModelConfig

NANO = 1_000_000_000


class Prices:
    def __init__(self) -> None:
        self._rates: dict[tuple[str, str, str], tuple[Decimal, Decimal, bool] | None] = {}
        self._lock = threading.Lock()

    def known(self, config: ModelConfig) -> bool:
        return self._rate(config) is not None

    def cost_nano(self, config: ModelConfig, tokens_in: int, tokens_out: int) -> int | None:
        """Cost in nano-dollars (rounded up), or None when no price is known."""
        rate = self._rate(config)
        if rate is None:
            return None
        per_in, per_out, tiered = rate
        if tiered:
            exact = _calc(config, tokens_in, tokens_out)
            if exact is not None:
                return math.ceil(exact * NANO)
        return math.ceil((per_in * tokens_in + per_out * tokens_out) * NANO)

    def _rate(self, config: ModelConfig) -> tuple[Decimal, Decimal, bool] | None:
        key = (config.provider, config.model, config.price.model_dump_json() if config.price else "")
        if key in self._rates:
            return self._rates[key]
        with self._lock:
            if config.price is not None:
                rate: tuple[Decimal, Decimal, bool] | None = (
                    Decimal(str(config.price.input_per_mtok)) / 1_000_000,
                    Decimal(str(config.price.output_per_mtok)) / 1_000_000, False)
            else:
                big_in, big_out = _calc(config, 1_000_000, 0), _calc(config, 0, 1_000_000)
                small_in, small_out = _calc(config, 1000, 0), _calc(config, 0, 1000)
                if big_in is None or big_out is None or small_in is None or small_out is None:
                    rate = None
                else:
                    per_in, per_out = big_in / 1_000_000, big_out / 1_000_000
                    tiered = per_in != small_in / 1000 or per_out != small_out / 1000
                    rate = (small_in / 1000, small_out / 1000, tiered)
            self._rates[key] = rate
            return rate


def _calc(config: ModelConfig, tokens_in: int, tokens_out: int) -> Decimal | None:
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # the `models` extra is not installed: no prices
        return None
    try:
        result = calc_price(Usage(input_tokens=tokens_in, output_tokens=tokens_out), config.model,
                            provider_id=config.provider)
    except (LookupError, ValueError):
        try:
            result = calc_price(Usage(input_tokens=tokens_in, output_tokens=tokens_out), config.model)
        except (LookupError, ValueError):
            return None
    return Decimal(result.total_price)


PRICES = Prices()
"""The process's price cache."""

__all__ = ["NANO", "PRICES", "Prices"]
