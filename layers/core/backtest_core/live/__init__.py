"""Live progress over WebSocket (docs/live.md): connect, push, disconnect.

The same code runs behind API Gateway's WebSocket API (functions/ws_*) and behind the
local stack's WebSocket server (infra/local/websocket.py). No pandas, no engine.
"""
