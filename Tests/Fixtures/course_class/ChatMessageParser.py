"""A stand-in for the course's starter module, written for this project's tests from the interface
in docs/protocol.md ("The course's Python classes"): MessageParser.parse_messages(data) returns
message objects, and each message class encodes one message with a static bytes(...). It is not
the course's code; students' ChatServer.py files import a module of this name."""
import struct


class ServerRegistrationMessage:
    def __init__(self, source_id, last_hop_id, server_name, server_info):
        self.message_type, self.source_id, self.last_hop_id = 0x00, source_id, last_hop_id
        self.server_name, self.server_info = server_name, server_info

    @staticmethod
    def bytes(source_id, last_hop_id, server_name, server_info):
        n, i = server_name.encode(), server_info.encode()
        return struct.pack("!BIIBH", 0x00, source_id, last_hop_id, len(n), len(i)) + n + i


class ClientRegistrationMessage:
    def __init__(self, source_id, last_hop_id, client_name, client_info):
        self.message_type, self.source_id, self.last_hop_id = 0x80, source_id, last_hop_id
        self.client_name, self.client_info = client_name, client_info

    @staticmethod
    def bytes(source_id, last_hop_id, client_name, client_info):
        n, i = client_name.encode(), client_info.encode()
        return struct.pack("!BIIBH", 0x80, source_id, last_hop_id, len(n), len(i)) + n + i


class StatusUpdateMessage:
    def __init__(self, source_id, destination_id, status_code, content):
        self.message_type, self.source_id, self.destination_id = 0x01, source_id, destination_id
        self.status_code, self.content = status_code, content

    @staticmethod
    def bytes(source_id, destination_id, status_code, content):
        t = content.encode()
        return struct.pack("!BIIHI", 0x01, source_id, destination_id, status_code, len(t)) + t


class ClientChatMessage:
    def __init__(self, source_id, destination_id, content):
        self.message_type, self.source_id, self.destination_id, self.content = 0x81, source_id, destination_id, content

    @staticmethod
    def bytes(source_id, destination_id, content):
        t = content.encode()
        return struct.pack("!BIII", 0x81, source_id, destination_id, len(t)) + t


class ClientQuitMessage:
    def __init__(self, source_id, content):
        self.message_type, self.source_id, self.content = 0x82, source_id, content

    @staticmethod
    def bytes(source_id, content):
        t = content.encode()
        return struct.pack("!BII", 0x82, source_id, len(t)) + t


class MessageParser:
    """Parses whole messages at the front of a buffer; keeps the rest for the next read."""

    def __init__(self):
        self.pending = b""

    def parse_messages(self, data):
        buf, out = self.pending + data, []
        while buf:
            t = buf[0]
            if t in (0x00, 0x80):
                if len(buf) < 12:
                    break
                src, last, nl, il = struct.unpack("!IIBH", buf[1:12])
                end = 12 + nl + il
                if len(buf) < end:
                    break
                name, info = buf[12:12 + nl].decode(errors="replace"), buf[12 + nl:end].decode(errors="replace")
                out.append((ServerRegistrationMessage if t == 0x00 else ClientRegistrationMessage)(src, last, name, info))
            elif t == 0x01:
                if len(buf) < 15:
                    break
                src, dst, code, tl = struct.unpack("!IIHI", buf[1:15])
                end = 15 + tl
                if len(buf) < end:
                    break
                out.append(StatusUpdateMessage(src, dst, code, buf[15:end].decode(errors="replace")))
            elif t == 0x81:
                if len(buf) < 13:
                    break
                src, dst, tl = struct.unpack("!III", buf[1:13])
                end = 13 + tl
                if len(buf) < end:
                    break
                out.append(ClientChatMessage(src, dst, buf[13:end].decode(errors="replace")))
            elif t == 0x82:
                if len(buf) < 9:
                    break
                src, tl = struct.unpack("!II", buf[1:9])
                end = 9 + tl
                if len(buf) < end:
                    break
                out.append(ClientQuitMessage(src, buf[9:end].decode(errors="replace")))
            else:
                raise Exception("Unrecognized message type!! (0x%02x)" % t)
            buf = buf[end:]
        self.pending = buf
        return out
