"""The canonical sample every converter produces and every writer consumes.

OpenAI-shaped: a list of messages (`system`, `user`, `assistant`, `tool`) plus the tools
(function schemas: `{"name", "description", "parameters"}` with JSON Schema parameters).
An assistant message may carry a `thought` (reasoning shown before its calls or answer) and
`tool_calls` (several calls in one message are one parallel call).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    thought: str | None = None
    name: str | None = None  # tool messages: the function whose result this is

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.thought:
            out["thought"] = self.thought
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        calls = [ToolCall(c["name"], c.get("arguments", {})) for c in d.get("tool_calls") or []]
        return cls(d["role"], d.get("content") or "", calls, d.get("thought"), d.get("name"))


@dataclass
class Sample:
    messages: list[Message]
    tools: list[dict[str, Any]] = field(default_factory=list)
    id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def system(self) -> str:
        return "\n".join(m.content for m in self.messages if m.role == "system")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "messages": [m.to_dict() for m in self.messages],
            "tools": self.tools,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        return cls([Message.from_dict(m) for m in d["messages"]], d.get("tools") or [], d.get("id"), d.get("meta") or {})

    def chat_messages(self) -> list[dict[str, Any]]:
        """Messages in the shape `tokenizer.apply_chat_template(messages, tools=...)` takes."""
        out = []
        for m in self.messages:
            d: dict[str, Any] = {"role": m.role, "content": m.content}
            if m.tool_calls:
                d["tool_calls"] = [{"type": "function", "function": c.to_dict()} for c in m.tool_calls]
            if m.thought:
                d["thought"] = m.thought
            if m.name:
                d["name"] = m.name
            out.append(d)
        return out


__all__ = ["Message", "Role", "Sample", "ToolCall", "asdict"]
