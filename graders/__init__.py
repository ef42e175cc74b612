"""OpenAI's graders, with no HTTP and no database: definitions, templates and grading.

grader = parse_grader({...})                 # GraderDefinitionError(message, param) if bad
result = await Grading(sandbox, judge).grade(grader, sample_namespace(text), item)
"""

from graders.errors import ErrorFlags, GraderDefinitionError
from graders.judge import Judge, JudgeError, JudgeReply, JudgeRequest
from graders.models import AnyGrader, parse_grader, uses_judge
from graders.runner import GradeResult, Grading
from graders.sandbox import PythonSandbox, SandboxLimits
from graders.templates import sample_namespace

__all__ = [
    "AnyGrader",
    "ErrorFlags",
    "GradeResult",
    "GraderDefinitionError",
    "Grading",
    "Judge",
    "JudgeError",
    "JudgeReply",
    "JudgeRequest",
    "PythonSandbox",
    "SandboxLimits",
    "parse_grader",
    "sample_namespace",
    "uses_judge",
]
