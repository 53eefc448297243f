"""The pending read marks of a store that writes them behind (openim.storage.sql.read_marks)."""

from __future__ import annotations

from openim.storage.messages.records import NewMessage, PersistResult, UserConversation
from openim.storage.sql.read_marks import ReadMarks


def sent(sender: str, conversation: str, client_msg_id: str) -> NewMessage:
    return NewMessage(
        conversation_id=conversation, send_id=sender, client_msg_id=client_msg_id, server_msg_id="s",
        send_time=1, session_type=1, content_type=101, payload=b"", reader_user_id=sender,
    )


def row(owner: str, conversation: str, has_read_seq: int) -> UserConversation:
    return UserConversation(owner, conversation, 1, has_read_seq=has_read_seq)


def test_marks_only_go_up_and_duplicates_and_readerless_messages_raise_none() -> None:
    marks = ReadMarks()
    batch = [sent("a", "c1", "1"), sent("a", "c1", "2"), sent("b", "c1", "3"), sent("a", "c2", "4")]
    marks.note(batch, [PersistResult("c1", 7, "s", 1), PersistResult("c1", 6, "s", 1),
                       PersistResult("c1", 8, "s", 1, True), PersistResult("c2", 2, "s", 1)])
    readerless = NewMessage(
        conversation_id="c3", send_id="x", client_msg_id="5", server_msg_id="s", send_time=1, session_type=1,
        content_type=101, payload=b"",
    )
    marks.note([readerless], [PersistResult("c3", 9, "s", 1)])
    assert sorted(marks.take()) == [("a", "c1", 7), ("a", "c2", 2)]  # b's was a duplicate
    assert len(marks) == 0


def test_the_overlay_shows_pending_and_just_written_marks_and_never_lowers_a_row() -> None:
    marks = ReadMarks()
    marks.restore([("a", "c1", 5), ("a", "c2", 3)])
    rows = [row("a", "c1", 2), row("a", "c2", 9), row("a", "c3", 1)]
    assert [r.has_read_seq for r in marks.overlay(rows)] == [5, 9, 1]
    taken = marks.take()
    # the write of ``taken`` may not be visible to a read that began before it committed
    assert [r.has_read_seq for r in marks.overlay(rows)] == [5, 9, 1]
    marks.restore([("a", "c3", 4)])
    assert marks.take() == [("a", "c3", 4)]  # the next take ends the overlay of the earlier write
    assert [r.has_read_seq for r in marks.overlay(rows)] == [2, 9, 4]
    marks.restore(taken)  # a failed write puts its marks back; a lower one never replaces a higher one
    marks.restore([("a", "c1", 1)])
    assert sorted(marks.take()) == [("a", "c1", 5), ("a", "c2", 3)]


def test_pop_and_forget() -> None:
    marks = ReadMarks()
    marks.restore([("a", "c1", 5), ("a", "c2", 3), ("b", "c1", 4)])
    assert marks.pop("a", "c1") == 5 and marks.pop("a", "c1") == 0
    marks.forget("a", ["c2", "nothing"])
    assert marks.take() == [("b", "c1", 4)]
    # a row deleted after its mark was written: the mark is not laid over the row created again
    marks.forget("b", ["c1"])
    assert [r.has_read_seq for r in marks.overlay([row("b", "c1", 0)])] == [0]


def test_an_empty_take_ends_the_overlay_of_the_last_write() -> None:
    marks = ReadMarks()
    marks.restore([("a", "c1", 5)])
    marks.take()
    assert [r.has_read_seq for r in marks.overlay([row("a", "c1", 0)])] == [5]
    assert marks.take() == []
    assert [r.has_read_seq for r in marks.overlay([row("a", "c1", 0)])] == [0]
