import os
import signal
import threading
import time
import uuid

import pytest

from storage.random_ids import BUFFER_BYTES, random_bytes, uuid4_hex, uuid4_str


def test_uuid4_str_parses_as_a_version_4_uuid_in_its_canonical_form() -> None:
    for _ in range(200):
        text = uuid4_str()
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_uuid4_hex_is_the_hex_of_a_version_4_uuid() -> None:
    text = uuid4_hex()
    assert uuid.UUID(hex=text).version == 4
    assert uuid.UUID(hex=text).hex == text


def test_no_bytes_are_handed_out_twice_across_refills() -> None:
    chunks = [random_bytes(16) for _ in range(3 * BUFFER_BYTES // 16)]
    assert len(set(chunks)) == len(chunks)


def test_a_request_larger_than_the_buffer_is_served_whole() -> None:
    assert len(random_bytes(BUFFER_BYTES + 1)) == BUFFER_BYTES + 1


def test_a_forked_child_does_not_hand_out_its_parents_buffered_bytes() -> None:
    random_bytes(1)  # the buffer is filled and has bytes left
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, random_bytes(32))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 32)
    os.close(read)
    os.close(write)
    assert random_bytes(32) != child


def test_a_fork_while_another_thread_takes_bytes_leaves_the_child_able_to_take_them() -> None:
    stop = threading.Event()

    def take_all_the_time() -> None:
        while not stop.is_set():
            random_bytes(16)

    taker = threading.Thread(target=take_all_the_time)
    taker.start()
    try:
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                os._exit(0 if len(random_bytes(16)) == 16 else 1)
            deadline = time.monotonic() + 10
            while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            if done[0] == 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
    finally:
        stop.set()
        taker.join()


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        random_bytes(-1)
