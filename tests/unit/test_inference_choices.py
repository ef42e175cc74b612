"""A request's choices as tokens arrive: deltas, and finishes by end-of-sequence, stop sequence,
token limit and time."""

from gateway.inference.choices import Choices
from gateway.inference.generation import Event, Finished, Sampling, TextDelta

EOS = 0
SPELLING = {1: "Hello", 2: ",", 3: " world", 4: "!"}


def decode(ids) -> str:
    return "".join(SPELLING.get(token_id, "") for token_id in ids)


def run(sampling: Sampling, pushes: list[tuple[int, int]]) -> tuple[list[Event], Choices]:
    events: list[Event] = []
    choices = Choices(sampling, [EOS], decode, events.append)
    for index, token_id in pushes:
        choices.push(index, token_id)
    return events, choices


def test_each_choice_finishes_for_its_own_reason():
    sampling = Sampling(max_new_tokens=3, n=3, stop=(" wor",))
    events, choices = run(sampling, [(0, 1), (1, 1), (2, 1), (0, EOS), (1, 3), (2, 2), (2, 4), (2, 4)])
    assert [event for event in events if isinstance(event, Finished)] == [
        Finished(0, "stop", 2),  # end of sequence, counted
        Finished(1, "stop", 2),  # stop sequence, the text before it kept
        Finished(2, "length", 3),
    ]
    texts = ["".join(e.text for e in events if isinstance(e, TextDelta) and e.index == i) for i in range(3)]
    assert texts == ["Hello", "Hello", "Hello,!"]
    assert choices.done


def test_a_finished_choice_ignores_later_tokens_and_time_up_ends_the_open_ones_for_length():
    events, choices = run(Sampling(max_new_tokens=10, n=2, stop=("!",)), [(0, 1), (0, 4), (0, 3), (1, 1)])
    assert choices.finished(0) and not choices.finished(1) and not choices.done
    choices.finish_open()
    assert events[-1] == Finished(1, "length", 1) and choices.done
    assert sum(isinstance(event, Finished) for event in events) == 2
