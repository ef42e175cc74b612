import pytest
import torch

from training.attention import PACKED_SDPA
from training.batching import pack_row, plan_rows
from training.examples import ChatEncoder, TokenizedSequence


@pytest.fixture(scope="module", params=[PACKED_SDPA, "sdpa"])
def base_model(tiny_model, request):
    """The trainer's packed sdpa, and transformers' sdpa (block-diagonal mask from position_ids), kept for
    sliding-window models."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation=request.param).eval()


@pytest.fixture(scope="module")
def sequences(tokenizer, limericks, weighted) -> list[TokenizedSequence]:
    encoder = ChatEncoder(tokenizer, 2048)
    return [encoder.supervised(example, "x") for example in [*limericks[:3], *weighted]]


def test_rows_take_whole_units_up_to_the_token_limit():
    assert plan_rows([5, 5, 5], max_tokens=10) == [range(0, 2), range(2, 3)]
    assert plan_rows([4, 12, 3, 3], max_tokens=10) == [range(0, 1), range(1, 2), range(2, 4)]
    assert plan_rows([], max_tokens=10) == []


def test_targets_stay_inside_their_own_sequence():
    first = TokenizedSequence([10, 11, 12], [10, 11, 12])
    second = TokenizedSequence([20, 21, 22, 23], [-100, 21, -100, 23])

    row = pack_row([first, second])

    assert row.input_ids.tolist() == [[10, 11, 12, 20, 21, 22, 23]]
    assert row.position_ids.tolist() == [[0, 1, 2, 0, 1, 2, 3]]
    # position 2 (the last token of `first`) predicts nothing; 20 is never a target
    assert row.loss_positions.tolist() == [0, 1, 3, 5]
    assert row.targets.tolist() == [11, 12, 21, 23]
    assert row.owners.tolist() == [0, 0, 1, 1]
    assert (row.sequences, row.tokens) == (2, 7)


def packed_logits(model, row, **options) -> torch.Tensor:
    options = {"use_cache": False, "sequence_bounds": row.sequence_bounds, **options}
    with torch.no_grad():
        return model(input_ids=row.input_ids, position_ids=row.position_ids, **options).logits[0]


def test_packed_sequences_do_not_attend_to_each_other(base_model, sequences):
    row = pack_row(sequences)

    packed = packed_logits(base_model, row)

    for sequence, start, end in zip(sequences, row.sequence_bounds, row.sequence_bounds[1:], strict=False):
        alone = packed_logits(base_model, pack_row([sequence]))
        torch.testing.assert_close(packed[start:end], alone, atol=1e-4, rtol=0)
    # The check can fail: as one sequence (or, for sdpa, with a KV cache) the row attends across examples.
    leaky = packed_logits(base_model, row, sequence_bounds=[0, row.tokens], use_cache=True)
    assert not torch.allclose(leaky[start:end], alone, atol=1e-3)
