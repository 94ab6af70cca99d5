"""The benchmark's throughput target is judged on the part of a level when every
conversation was talking; a wrong window would make a slow change look fast or hide one."""

from __future__ import annotations

from bench.channels import steady_rate
from bench.drivers import Reply, Turn


def turn(conversation: str, sent: float, e2e_s: float | None, ok: bool = True) -> Turn:
    t = Turn(conversation, sent, ack_ms=5.0, ack_status=200)
    if e2e_s is not None:
        t.e2e_ms = e2e_s * 1000
        t.replies.append(Reply(sent + e2e_s, "answer", ok))
    return t


def test_ramp_up_and_tail_are_left_out() -> None:
    # Two conversations, 1.5 s per turn, the second starting 1 s later: only from t=1 s
    # (both talking) to t=6 s (the first one done) counts.
    done = [turn("a", 1.5 * i, 1.5) for i in range(4)] + [turn("b", 1 + 1.5 * i, 1.5) for i in range(4)]
    rate, window = steady_rate(done)
    assert window == 5.0
    # replies inside [1, 6]: a at 1.5, 3, 4.5, 6 and b at 2.5, 4, 5.5
    assert rate == round(7 / 5.0, 2)


def test_rejected_replies_do_not_count() -> None:
    done = [turn("a", 0.0, 1.0), turn("a", 1.0, 1.0, ok=False), turn("a", 2.0, 1.0)]
    done += [turn("b", 0.0, 1.0), turn("b", 1.0, 1.0), turn("b", 2.0, 1.0)]
    rate, window = steady_rate(done)
    assert window == 3.0
    assert rate == round(5 / 3.0, 2)


def test_no_rate_when_a_conversation_never_got_a_reply_or_the_window_is_short() -> None:
    assert steady_rate([turn("a", 0.0, 2.0), turn("b", 0.0, None)]) == (None, 0.0)
    assert steady_rate([turn("a", 0.0, 0.5), turn("b", 0.2, 0.5)])[0] is None
