"""A multi grader's `calculate_output`: arithmetic over named sub-grader rewards.

Parsed with Python's `ast` and walked over a whitelist of node types; nothing is evaluated by
Python itself. Operators `+ - * / ^` (`^` and `**` both mean power), unary `+ -`, numbers,
names of sub-graders, and the functions `min max abs floor ceil exp sqrt log`.
"""

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

MAX_FORMULA_CHARS = 4096
FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "floor": math.floor,
    "ceil": math.ceil,
    "exp": math.exp,
    "sqrt": math.sqrt,
    "log": math.log,
}
ARITY = {"min": (1, None), "max": (1, None), "abs": (1, 1), "floor": (1, 1), "ceil": (1, 1),
         "exp": (1, 1), "sqrt": (1, 1), "log": (1, 2)}  # fmt: skip
BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.UAdd: lambda a: +a, ast.USub: lambda a: -a}


class FormulaError(ValueError):
    """The formula cannot be parsed, or names something it may not."""


class FormulaEvaluationError(ArithmeticError):
    """The formula parsed but gives no finite number for these rewards (division by zero...)."""


@dataclass(frozen=True)
class Formula:
    text: str
    tree: ast.expr

    @classmethod
    def parse(cls, text: str, names: set[str]) -> "Formula":
        if len(text) > MAX_FORMULA_CHARS:
            raise FormulaError(f"calculate_output is longer than {MAX_FORMULA_CHARS} characters.")
        try:
            # `^` is power with power's precedence, as in OpenAI's formulas (not Python's XOR).
            tree = ast.parse(text.strip().replace("^", "**"), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            raise FormulaError(f"calculate_output is not a valid formula: {error}") from None
        try:
            _check(tree, names)
        except RecursionError:
            raise FormulaError("calculate_output is nested too deeply.") from None
        return cls(text, tree)

    def evaluate(self, values: dict[str, float]) -> float:
        try:
            result = float(_evaluate(self.tree, values))
        except (ArithmeticError, ValueError, TypeError) as error:
            raise FormulaEvaluationError(f"{type(error).__name__}: {error}") from None
        if not math.isfinite(result):
            raise FormulaEvaluationError(f"the formula gives {result}")
        return result


def _check(node: ast.AST, names: set[str]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"calculate_output may only contain numbers, not {node.value!r}.")
    elif isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise FormulaError(
                f"calculate_output names {node.id!r}, which is not a grader (graders: {known})."
            )
    elif isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        _check(node.left, names)
        _check(node.right, names)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        _check(node.operand, names)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        low, high = ARITY[node.func.id]
        if node.keywords or len(node.args) < low or (high is not None and len(node.args) > high):
            raise FormulaError(f"calculate_output calls {node.func.id}() with the wrong arguments.")
        for argument in node.args:
            _check(argument, names)
    else:
        raise FormulaError(
            f"calculate_output may only use numbers, grader names, + - * / ^ and "
            f"{' '.join(FUNCTIONS)}; found {ast.unparse(node)!r}."
        )


def _evaluate(node: ast.expr, values: dict[str, float]) -> float:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if isinstance(node.op, ast.Pow) and abs(right) > 1024:
            raise OverflowError("exponent too large")
        return BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return UNARY[type(node.op)](_evaluate(node.operand, values))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return FUNCTIONS[node.func.id](*(_evaluate(argument, values) for argument in node.args))
