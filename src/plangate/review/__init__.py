"""Review: the deterministic, pure judgement of WHAT a plan will do."""

from plangate.review.reviewer import Finding, Review, review, review_checked

__all__ = ["Finding", "Review", "review", "review_checked"]
