"""The benchmark's throughput target is judged on the part of a level when (nearly) every
conversation was talking; a wrong window would make a slow change look fast or hide one."""

from __future__ import annotations

from bench.channels import steady_rate, verdict
from bench.drivers import Reply, Turn


def turn(conversation: str, sent: float, e2e_s: float | None, ok: bool = True) -> Turn:
    t = Turn(conversation, sent, ack_ms=5.0, ack_status=200)
    if e2e_s is not None:
        t.e2e_ms = e2e_s * 1000
        t.replies.append(Reply(sent + e2e_s, "answer", ok))
    return t


def chat(conversation: str, start: float, turns: int, each: float = 1.5) -> list[Turn]:
    return [turn(conversation, start + each * i, each) for i in range(turns)]


def test_ramp_up_and_tail_are_left_out() -> None:
    # Two conversations, the second starting 1 s later: only from t=1 s (both talking)
    # to t=9 s (the first one done) counts.
    done = chat("a", 0.0, 6) + chat("b", 1.0, 6)
    rate, seconds = steady_rate(done)
    assert seconds == 8.0
    # replies inside [1, 9]: a at 1.5 ... 9.0 (six) and b at 2.5 ... 8.5 (five)
    assert rate == round(11 / 8.0, 2)


def test_rejected_replies_do_not_count() -> None:
    done = chat("a", 0.0, 6) + chat("b", 0.0, 6)
    done[2].replies[0].ok = False
    rate, seconds = steady_rate(done)
    assert seconds == 9.0
    assert rate == round(11 / 9.0, 2)


def test_one_early_finisher_in_ten_does_not_end_the_window() -> None:
    done = [t for i in range(9) for t in chat(f"c{i}", 0.0, 6)] + chat("quick", 0.0, 1, each=0.1)
    rate, seconds = steady_rate(done)
    assert seconds == 9.0  # 9 of 10 = 90 % still talking after "quick" is done
    assert rate == round(55 / 9.0, 2)  # its own answer came inside the window too


def test_no_rate_when_a_conversation_never_got_a_reply_or_the_window_is_short() -> None:
    assert steady_rate(chat("a", 0.0, 6) + [turn("b", 0.0, None)]) == (None, 0.0)
    assert steady_rate(chat("a", 0.0, 2) + chat("b", 0.2, 2))[0] is None


def row(rate: float | None, channel: str = "slack") -> dict:
    return {
        "builtin": False,
        "channel": channel,
        "concurrency": 64,
        "ack_p99_ms": 20.0,
        "overhead_p50_ms": 50.0,
        "overhead_p99_ms": 90.0,
        "errors": 0,
        "duplicates": 0,
        "msgs_per_s": 29.0,
        "steady_msgs_per_s": rate,
    }


def test_verdict_judges_throughput_in_flight_and_says_when_it_cannot() -> None:
    assert verdict([row(33.0)]) == []
    assert "29.5" in verdict([row(29.5)])[0]
    assert "not judged" in verdict([row(None)])[0]
