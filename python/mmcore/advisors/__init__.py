"""Advisors: slow-moving, validated advice (LLM-backed or rules) read by the quote loop."""

from mmcore.advisors.advice import Advice, AdviceOutcome
from mmcore.advisors.factory import build_advisor_service
from mmcore.advisors.llm_advisor import LLMAdvisor
from mmcore.advisors.rules import RulesAdvisor
from mmcore.advisors.service import AdvisorService, LatestAdvice

__all__ = [
    "Advice",
    "AdviceOutcome",
    "AdvisorService",
    "LLMAdvisor",
    "LatestAdvice",
    "RulesAdvisor",
    "build_advisor_service",
]
