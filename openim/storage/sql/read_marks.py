"""Senders' read marks written behind, for a store whose every reader is in this process (SQLite).

A sent message raises its sender's ``has_read_seq`` in the conversation (he has read his own message).
Written in the send transaction, that is one update of a random ``user_conversations`` row per message:
with messages spread over many conversations, every commit rewrites most pages of that table into the
WAL, which was the largest part of a one-to-one message's storage cost (docs/performance.md, section 8).

So the send transaction only *creates* missing rows (with the mark already in them) and the marks of
existing rows wait here, newest per (owner, conversation), until :meth:`ReadMarks.take` hands them to one
write of all of them (the store does that every ``READ_MARKS_FLUSH_S`` and when it closes). Readers
never see a stale mark: the store lays the pending ones over every row it returns (:meth:`overlay`).

What a crash can cost: the marks of the last flush interval, i.e. a sender's own newest messages may count
as unread after a restart until he reads the conversation. Messages, seqs and every other field are
written in the send transaction as before. With PostgreSQL other processes read the rows, so that store
writes marks in the send transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Final

from openim.storage.messages.records import MessageToStore, PersistResult, UserConversation

__all__ = ["READ_MARKS_FLUSH_S", "ReadMarks"]

READ_MARKS_FLUSH_S: Final = 1.0

Mark = tuple[str, str, int]  # (owner_user_id, conversation_id, has_read_seq)


class ReadMarks:
    """The pending marks, newest per (owner, conversation); marks only ever go up.

    The marks of the last write stay in the overlay until the next one is taken: a read whose snapshot
    began before that write committed must still see them (laying a mark over a row that has it already
    changes nothing).
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], int] = {}
        self._written: dict[tuple[str, str], int] = {}  # taken by the last take(): being or just written

    def __len__(self) -> int:
        return len(self._pending)

    def note(self, batch: Sequence[MessageToStore], results: Sequence[PersistResult]) -> None:
        """After a committed send transaction: each new message raises its reader's mark."""
        pending = self._pending
        for m, r in zip(batch, results, strict=True):
            if m.reader_user_id and not r.duplicate:
                key = (m.reader_user_id, r.conversation_id)
                if pending.get(key, 0) < r.seq:
                    pending[key] = r.seq

    def take(self) -> list[Mark]:
        """Everything pending, for one write; :meth:`restore` it if that write fails."""
        marks, self._pending = self._pending, {}
        self._written = marks
        return [(owner, cid, seq) for (owner, cid), seq in marks.items()]

    def restore(self, marks: Iterable[Mark]) -> None:
        pending = self._pending
        for owner, cid, seq in marks:
            if pending.get((owner, cid), 0) < seq:
                pending[(owner, cid)] = seq

    def pop(self, owner_user_id: str, conversation_id: str) -> int:
        """The pending mark of one row (0: none), taken out: the caller writes it itself."""
        return self._pending.pop((owner_user_id, conversation_id), 0)

    def forget(self, owner_user_id: str, conversation_ids: Iterable[str]) -> None:
        """The rows were deleted: neither a pending nor a just-written mark may be laid over a row created
        again later."""
        for cid in conversation_ids:
            self._pending.pop((owner_user_id, cid), None)
            self._written.pop((owner_user_id, cid), None)

    def overlay(self, rows: list[UserConversation]) -> list[UserConversation]:
        """``rows`` as they will be once the pending marks are written."""
        pending, written = self._pending, self._written
        if not pending and not written:
            return rows
        out = []
        for row in rows:
            key = (row.owner_user_id, row.conversation_id)
            mark = max(pending.get(key, 0), written.get(key, 0))
            out.append(replace(row, has_read_seq=mark) if mark > row.has_read_seq else row)
        return out
