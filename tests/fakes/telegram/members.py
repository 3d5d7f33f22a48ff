"""Who is who in a group: ``getChatMember`` answers as Telegram does, per status."""

from __future__ import annotations

from tests.fakes.telegram.limits import JsonDict

# What aiogram requires of an administrator's ChatMember, all answered "no".
_ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)


class ChatMembers:
    """Each user's status in each chat; anyone not set is a plain ``member``."""

    def __init__(self) -> None:
        self._status: dict[tuple[int, int], str] = {}

    def set_status(self, chat_id: int, user_id: int, status: str) -> None:
        self._status[(chat_id, user_id)] = status

    def get_chat_member(self, params: JsonDict) -> JsonDict:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self._status.get((chat_id, user_id), "member")
        member: JsonDict = {
            "status": status,
            "user": {"id": user_id, "is_bot": False, "first_name": "Test"},
        }
        if status == "administrator":
            member.update(dict.fromkeys(_ADMIN_RIGHTS, False), can_manage_chat=True)
        elif status == "creator":
            member["is_anonymous"] = False
        return member
