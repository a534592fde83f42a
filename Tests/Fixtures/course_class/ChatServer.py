"""A course-style server class, written for this project's tests: what a correct student's
ChatServer.py looks like (class CRCServer, started by run(), stopped by request_terminate, graded
by hosts_db, adjacent_server_ids, adjacent_user_ids and status_updates_log). The tests copy it and
plant faults in the copies. It behaves on the wire as the course's servers do (docs/protocol.md,
"Course peers"). Not the course's code."""
import logging
import selectors
import socket

from ChatMessageParser import *


class ConnectionData:
    def __init__(self, id, name, info, first_link_id, is_server):
        self.id, self.name, self.info, self.first_link_id, self.is_server = id, name, info, first_link_id, is_server
        self.write_buffer = b""


class Link:
    def __init__(self, sock):
        self.sock, self.parser, self.out, self.peer = sock, MessageParser(), b"", None


class CRCServer:
    def __init__(self, options, run_on_localhost=False):
        self.id, self.server_name, self.server_info = options.id, options.servername, options.info
        self.port, self.connect_to_port = options.port, options.connect_to_port
        self.connect_to_host = "127.0.0.1" if run_on_localhost else options.connect_to_host
        self.hosts_db = {}
        self.adjacent_server_ids = []
        self.adjacent_user_ids = []
        self.status_updates_log = []
        self.request_terminate = False
        self.links = {}          # id of an adjacent machine -> Link
        self.sel = selectors.DefaultSelector()
        logging.basicConfig(filename=options.log_file, level=logging.INFO)

    # Sending
    def send(self, link, data):
        if link is None:
            return
        link.out += data
        self.sel.modify(link.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, link)

    def send_toward(self, host_id, data):
        if host_id in self.hosts_db:
            self.send(self.links.get(self.hosts_db[host_id].first_link_id), data)

    def to_servers(self, data, skip=None):
        for sid in list(self.adjacent_server_ids):
            if sid != skip:
                self.send(self.links.get(sid), data)

    def to_users(self, data, skip=None):
        for uid in list(self.adjacent_user_ids):
            if uid != skip:
                self.send(self.links.get(uid), data)

    # Handlers
    def handle_server_registration(self, link, m):
        if m.source_id in self.hosts_db or m.source_id == self.id:
            self.send(link, StatusUpdateMessage.bytes(self.id, 0, 0x02, "A machine has already registered with ID %d" % m.source_id))
            return
        adjacent = m.last_hop_id == 0
        first = m.source_id if adjacent else m.last_hop_id
        self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.server_name, m.server_info, first, True)
        if adjacent:
            self.adjacent_server_ids.append(m.source_id)
            self.links[m.source_id] = link
            link.peer = m.source_id
            self.send(link, ServerRegistrationMessage.bytes(self.id, 0, self.server_name, self.server_info))
            for hid, h in list(self.hosts_db.items()):
                if hid == m.source_id:
                    continue
                if h.is_server:
                    self.send(link, ServerRegistrationMessage.bytes(hid, self.id, h.name, h.info))
                else:
                    self.send(link, ClientRegistrationMessage.bytes(hid, self.id, h.name, h.info))
        self.to_servers(ServerRegistrationMessage.bytes(m.source_id, self.id, m.server_name, m.server_info), skip=m.source_id)

    def handle_client_registration(self, link, m):
        if m.source_id in self.hosts_db or m.source_id == self.id:
            self.send(link, StatusUpdateMessage.bytes(self.id, 0, 0x02, "Someone has already registered with ID %d" % m.source_id))
            return
        adjacent = m.last_hop_id == 0
        first = m.source_id if adjacent else m.last_hop_id
        self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.client_name, m.client_info, first, False)
        if adjacent:
            self.adjacent_user_ids.append(m.source_id)
            self.links[m.source_id] = link
            link.peer = m.source_id
            self.send(link, StatusUpdateMessage.bytes(self.id, m.source_id, 0x00, "Welcome to the Clemson Relay Chat network %s" % m.client_name))
            for hid, h in list(self.hosts_db.items()):
                if hid != m.source_id and not h.is_server:
                    self.send(link, ClientRegistrationMessage.bytes(hid, self.id, h.name, h.info))
        data = ClientRegistrationMessage.bytes(m.source_id, self.id, m.client_name, m.client_info)
        self.to_servers(data, skip=None if adjacent else m.last_hop_id)
        self.to_users(data, skip=m.source_id)

    def handle_status(self, link, m):
        if m.destination_id in (self.id, 0):
            self.status_updates_log.append(m.content)
        else:
            self.send_toward(m.destination_id, StatusUpdateMessage.bytes(m.source_id, m.destination_id, m.status_code, m.content))

    def handle_chat(self, link, m):
        if m.destination_id in self.hosts_db and not self.hosts_db[m.destination_id].is_server:
            self.send_toward(m.destination_id, ClientChatMessage.bytes(m.source_id, m.destination_id, m.content))
        else:
            self.send_toward(m.source_id, StatusUpdateMessage.bytes(self.id, m.source_id, 0x01, "Unknown ID %d" % m.destination_id))

    def handle_quit(self, link, m):
        if m.source_id not in self.hosts_db:
            return
        data = ClientQuitMessage.bytes(m.source_id, m.content)
        self.to_servers(data, skip=self.hosts_db[m.source_id].first_link_id)
        self.to_users(data, skip=m.source_id)
        if m.source_id in self.adjacent_user_ids:
            self.adjacent_user_ids.remove(m.source_id)
        del self.hosts_db[m.source_id]

    def drop(self, link):
        self.sel.unregister(link.sock)
        link.sock.close()
        if link.peer is not None:
            self.links.pop(link.peer, None)
            if link.peer in self.adjacent_server_ids:
                self.adjacent_server_ids.remove(link.peer)
            if link.peer in self.adjacent_user_ids:
                self.adjacent_user_ids.remove(link.peer)
                self.hosts_db.pop(link.peer, None)

    def serve(self, link, mask):
        if mask & selectors.EVENT_READ:
            try:
                data = link.sock.recv(65536)
            except ConnectionError:
                data = b""
            if not data:
                self.drop(link)
                return
            for m in link.parser.parse_messages(data):
                {0x00: self.handle_server_registration, 0x80: self.handle_client_registration, 0x01: self.handle_status,
                 0x81: self.handle_chat, 0x82: self.handle_quit}[m.message_type](link, m)
        if mask & selectors.EVENT_WRITE and link.out:
            try:
                n = link.sock.send(link.out)
            except ConnectionError:
                self.drop(link)
                return
            link.out = link.out[n:]
            if not link.out:
                self.sel.modify(link.sock, selectors.EVENT_READ, link)

    def run(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.setblocking(False)
        self.sel.register(listener, selectors.EVENT_READ, None)
        if self.connect_to_port:
            up = socket.create_connection((self.connect_to_host, self.connect_to_port))
            up.setblocking(False)
            link = Link(up)
            self.sel.register(up, selectors.EVENT_READ, link)
            self.send(link, ServerRegistrationMessage.bytes(self.id, 0, self.server_name, self.server_info))
        while not self.request_terminate:
            for key, mask in self.sel.select(timeout=0.1):
                if key.data is None:
                    s, _ = listener.accept()
                    s.setblocking(False)
                    self.sel.register(s, selectors.EVENT_READ, Link(s))
                else:
                    self.serve(key.data, mask)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()
