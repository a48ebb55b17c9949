"""Model-backed judges (ranker, relevance, stance): the protocol, the OpenAI client judge and a fake."""

from __future__ import annotations

from reviewer.judges.base import (
    Judge,
    JudgeError,
    JudgeReply,
    JudgeRequest,
    RankVerdict,
    RelevanceVerdict,
    StanceVerdict,
)

__all__ = [
    "Judge",
    "JudgeError",
    "JudgeReply",
    "JudgeRequest",
    "RankVerdict",
    "RelevanceVerdict",
    "StanceVerdict",
]
