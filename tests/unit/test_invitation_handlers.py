"""The accept use case with an in-memory unit of work and a fake room service: no I/O."""

import copy
import json
from datetime import timedelta

import pytest

from services.common.auth import Caller
from services.common.errors import FailedPrecondition, PermissionDenied
from services.common.timestamps import utcnow
from services.invitation import handlers
from services.invitation.domain import Invitation, InvitationStatus, RoomAccess
from services.invitation.side_effects import side_effects


class FakeInvitations:
    def __init__(self, rows: dict[str, Invitation], seen: list[Invitation]) -> None:
        self.rows = rows
        self._seen = seen

    async def get(self, invitation_id: str, *, for_update: bool = False) -> Invitation | None:
        row = self.rows.get(invitation_id)
        if row is None:
            return None
        invitation = copy.copy(row)
        invitation.events = []
        self._seen.append(invitation)
        return invitation

    async def save_resolution(self, invitation: Invitation, now) -> bool:
        if self.rows[invitation.invitation_id].status is not InvitationStatus.PENDING:
            return False
        self.rows[invitation.invitation_id] = copy.copy(invitation)
        return True


class FakeUnitOfWork:
    """Changes become visible only on commit, like the real one, and the events of what it
    loaded become notifications then (services.invitation.side_effects)."""

    def __init__(self, rows: dict[str, Invitation]) -> None:
        self.committed = rows
        self.commits = 0
        self.notices: list[tuple[str, str]] = []

    async def __aenter__(self):
        self._seen: list[Invitation] = []
        self.invitations = FakeInvitations(copy.deepcopy(self.committed), self._seen)
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def commit(self) -> None:
        events = [e for invitation in self._seen for e in invitation.events]
        for n in side_effects(events).notifications:
            notice = json.loads(n.payload)
            self.notices.append((notice["invitation"]["invitation_id"], notice["kind"]))
        self.committed.clear()
        self.committed.update(self.invitations.rows)
        self.commits += 1


class FakeRooms:
    def __init__(self, free_seats: int) -> None:
        self.free_seats = free_seats
        self.claims: dict[str, str] = {}

    async def access(self, room_id: str, user_id: str) -> RoomAccess:
        return RoomAccess(room_id, "host", False, False, None, False)

    async def add_co_host(self, room_id: str, user_id: str, invitation_id: str) -> None:
        if invitation_id in self.claims:
            return  # idempotent per invitation
        if self.free_seats == 0:
            raise FailedPrecondition("SEAT_LIMIT_REACHED", "all seats are taken")
        self.free_seats -= 1
        self.claims[invitation_id] = user_id


def pending(invitation_id: str = "i1", user_id: str = "guest", ttl: int = 600) -> Invitation:
    now = utcnow()
    return Invitation(
        invitation_id=invitation_id,
        room_id="r1",
        user_id=user_id,
        inviter_user_id="host",
        status=InvitationStatus.PENDING,
        create_time=now,
        expire_time=now + timedelta(seconds=ttl),
    )


async def test_accept_when_seats_full_keeps_invitation_pending():
    uow = FakeUnitOfWork({"i1": pending()})
    with pytest.raises(FailedPrecondition) as e:
        await handlers.accept_invitation("i1", Caller(user_id="guest"), uow, FakeRooms(0))
    assert e.value.reason == "SEAT_LIMIT_REACHED"
    assert uow.committed["i1"].status is InvitationStatus.PENDING
    assert uow.commits == 0 and uow.notices == []


async def test_accept_seats_the_invitee_once_and_resolves_once():
    uow, rooms = FakeUnitOfWork({"i1": pending()}), FakeRooms(3)
    accepted = await handlers.accept_invitation("i1", Caller(user_id="guest"), uow, rooms)
    assert accepted.status is InvitationStatus.ACCEPTED
    assert uow.committed["i1"].status is InvitationStatus.ACCEPTED
    assert uow.notices == [("i1", "status_changed")]
    with pytest.raises(FailedPrecondition) as e:
        await handlers.accept_invitation("i1", Caller(user_id="guest"), uow, rooms)
    assert e.value.reason == "INVITATION_NOT_PENDING"
    assert rooms.claims == {"i1": "guest"} and rooms.free_seats == 2


async def test_a_retried_accept_after_the_seat_was_claimed_finishes_without_a_second_seat():
    uow, rooms = FakeUnitOfWork({"i1": pending()}), FakeRooms(1)
    await rooms.add_co_host("r1", "guest", "i1")  # claimed, then the process died
    accepted = await handlers.accept_invitation("i1", Caller(user_id="guest"), uow, rooms)
    assert accepted.status is InvitationStatus.ACCEPTED
    assert rooms.free_seats == 0 and rooms.claims == {"i1": "guest"}


async def test_an_expired_invitation_claims_no_seat():
    uow, rooms = FakeUnitOfWork({"i1": pending(ttl=0)}), FakeRooms(3)
    with pytest.raises(FailedPrecondition) as e:
        await handlers.accept_invitation("i1", Caller(user_id="guest"), uow, rooms)
    assert e.value.reason == "INVITATION_NOT_PENDING"
    assert rooms.claims == {}


async def test_only_the_invitee_accepts():
    uow, rooms = FakeUnitOfWork({"i1": pending()}), FakeRooms(3)
    with pytest.raises(PermissionDenied) as e:
        await handlers.accept_invitation("i1", Caller(user_id="host"), uow, rooms)
    assert e.value.reason == "NOT_INVITEE"
    assert rooms.claims == {}


class NewInvitations:
    """The create path's queries: nothing pending, nothing to replay."""

    def __init__(self) -> None:
        self.inserted: list[Invitation] = []

    async def find_by_request(self, *_) -> None:
        return None

    find_stage_request = find_by_request

    async def lock_room(self, room_id: str) -> bool:
        return False  # the room is not closed

    async def expire_stale(self, *_) -> list[Invitation]:
        return []

    async def insert(self, invitation: Invitation, *_) -> None:
        self.inserted.append(invitation)


class CreatingUnitOfWork:
    """What is inserted is kept only when the transaction commits."""

    def __init__(self) -> None:
        self.invitations = NewInvitations()
        self.committed: list[Invitation] = []

    def read(self):
        return self

    def record(self, *_) -> None:
        pass

    async def __aenter__(self):
        self.invitations.inserted = []
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def commit(self) -> None:
        self.committed += self.invitations.inserted


class BannedMeanwhile:
    """The user is banned between the first access check and the one under the lock."""

    def __init__(self) -> None:
        self.asked = 0

    async def access(self, room_id: str, user_id: str) -> RoomAccess:
        self.asked += 1
        return RoomAccess(room_id, "host", banned=self.asked > 1, user_id=user_id)


@pytest.mark.parametrize("kind", ["invitation", "stage request"])
async def test_a_ban_committed_after_the_first_check_is_seen_under_the_lock(kind):
    uow, rooms = CreatingUnitOfWork(), BannedMeanwhile()
    with pytest.raises(PermissionDenied) as refused:
        if kind == "invitation":
            command = handlers.CreateInvitation("r1", "guest", request_id="")
            await handlers.create_invitation(command, Caller(user_id="host"), uow, rooms, 600)
        else:
            command = handlers.RequestStage("r1", request_id="")
            await handlers.request_stage(command, Caller(user_id="guest"), uow, rooms, 600)
    assert refused.value.reason == "USER_BANNED"
    assert rooms.asked == 2
    assert uow.committed == []
