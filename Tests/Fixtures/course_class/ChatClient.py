"""A course-style client class, written for this project's tests: what a correct student's
ChatClient.py looks like (class CRCClient, started by run(), made to chat by
message_other_client(destination_id, text) and to leave by quit(text), graded by its
status_updates_log). Not the course's code."""
import selectors
import socket
import threading

from ChatMessageParser import *


class CRCClient:
    def __init__(self, options, run_on_localhost=False):
        self.id, self.username, self.info = options.id, options.username, options.info
        self.server_host = "127.0.0.1" if run_on_localhost else options.serverhost
        self.server_port = options.serverport
        self.status_updates_log = []
        self.hosts_db = {}           # other users: id -> name
        self.chat_log = []
        self.request_terminate = False
        self.lock = threading.Lock()
        self.sock = None

    def send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def message_other_client(self, destination_id, text):
        self.send(ClientChatMessage.bytes(self.id, destination_id, text))

    def quit(self, text=""):
        self.send(ClientQuitMessage.bytes(self.id, text))
        self.request_terminate = True

    def run(self):
        self.sock = socket.create_connection((self.server_host, self.server_port))
        self.send(ClientRegistrationMessage.bytes(self.id, 0, self.username, self.info))
        parser, sel = MessageParser(), selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        while not self.request_terminate:
            for _ in sel.select(timeout=0.1):
                data = self.sock.recv(65536)
                if not data:
                    self.request_terminate = True
                    break
                for m in parser.parse_messages(data):
                    if m.message_type == 0x01:
                        self.status_updates_log.append(m.content)
                    elif m.message_type == 0x80:
                        self.hosts_db[m.source_id] = m.client_name
                    elif m.message_type == 0x81:
                        self.chat_log.append(m.content)
                    elif m.message_type == 0x82:
                        self.hosts_db.pop(m.source_id, None)
        self.sock.close()
