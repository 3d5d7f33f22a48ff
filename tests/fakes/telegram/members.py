"""Who is what in a chat, as `getChatMember` answers: "member" unless a test says."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram.limits import JsonDict

# The rights an administrator's answer carries (Bot API 9.x requires each).
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_change_info",
    "can_invite_users",
)
_NO_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_promote_members",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)


class ChatMembers:
    """Statuses by (chat, user): "creator", "administrator", "member", …"""

    def __init__(self) -> None:
        self._statuses: dict[tuple[Any, Any], str] = {}

    def set(self, chat_id: int, user_id: int, status: str) -> None:
        self._statuses[(chat_id, user_id)] = status

    def get(self, params: JsonDict) -> JsonDict:
        user_id = params.get("user_id")
        status = self._statuses.get((params.get("chat_id"), user_id), "member")
        member: JsonDict = {
            "status": status,
            "user": {"id": user_id, "is_bot": False, "first_name": "Member"},
        }
        if status == "administrator":
            member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
            member.update(dict.fromkeys(_NO_RIGHTS, False))
        elif status == "creator":
            member["is_anonymous"] = False
        return member
