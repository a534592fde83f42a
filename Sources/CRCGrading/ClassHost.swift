/// crc-cluster's host for a course-style server class (`ChatServer.py` holding `class CRCServer`):
/// a small Python program that runs one such object as a CRC server process and reports its graded
/// attributes on request. `grade --course-python` writes it next to the run's logs and starts
/// every graded server as `python3 class_host.py --submission PATH …` with the course's options.
public enum ClassHost {
    public static let fileName = "crc_class_host.py"

    public static let source = #"""
#!/usr/bin/env python3
"""crc-cluster's host for a course-style server class: it runs one CRCServer object of a student's
ChatServer.py as a CRC server process, so crc-cluster can launch, check and stop it like any
other node. Written from the interface in docs/protocol.md ("The course's Python classes").

usage: class_host.py --submission PATH [--starter DIR] --id N --servername NAME --port P
                     [--info TEXT] [--connect_to_host H --connect_to_port Q] [--log-file FILE]

It imports ChatServer.py (PATH, or PATH/ChatServer.py) with its folder and the starter folder on
the import path, builds `options` from the course's options, calls run() in a thread, and stops
it by setting request_terminate on SIGTERM or SIGINT. Before run() it prints one line,
{"event":"class_state","state_port":N,"pid":P}: a connection to 127.0.0.1:N that sends a line gets
one JSON line back with the object's graded attributes (hosts_db, adjacent_server_ids,
adjacent_user_ids, status_updates_log), the ones it lacks, and the traceback of an exception
that ended run(), if any.

Exit status: 0 stopped on request; 1 run() raised or returned by itself; 3 the submission cannot
be loaded as a course server (a missing file, class or starter module); 4 importing it or
building the object raised.
"""
import argparse, importlib.util, json, os, signal, socket, sys, threading, time, traceback, types

p = argparse.ArgumentParser()
p.add_argument("--submission", required=True)
p.add_argument("--starter")
p.add_argument("--id", type=int, required=True)
p.add_argument("--servername", required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--info", default="")
p.add_argument("--connect_to_host")
p.add_argument("--connect_to_port", type=int)
p.add_argument("--log-file", dest="log_file")
opt = p.parse_args()

def fail(code, text):
    sys.stderr.write("class host: %s\n" % text)
    sys.stderr.flush()
    os._exit(code)

path = os.path.abspath(opt.submission)
if os.path.isdir(path):
    path = os.path.join(path, "ChatServer.py")
if not os.path.isfile(path):
    fail(3, "no ChatServer.py at %s (give the submission's ChatServer.py, or the folder that holds it)" % path)
folder = os.path.dirname(path)
search = [folder] + ([os.path.abspath(opt.starter)] if opt.starter else [])
if not any(os.path.isfile(os.path.join(d, "ChatMessageParser.py")) for d in search):
    where = " or in %s" % search[1] if len(search) > 1 else ""
    fail(3, "ChatServer.py imports the course's starter module ChatMessageParser, which is not beside it (%s)%s: "
            "put the course's ChatMessageParser.py there, or give the folder of starter files with --starter DIR" % (folder, where))
sys.path[:0] = search

try:
    spec = importlib.util.spec_from_file_location("ChatServer", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ChatServer"] = module
    spec.loader.exec_module(module)
except SystemExit:
    fail(4, "importing ChatServer.py called exit()")
except BaseException:
    sys.stderr.write(traceback.format_exc())
    fail(4, "importing ChatServer.py raised the exception above")
cls = getattr(module, "CRCServer", None)
if not isinstance(cls, type):
    fail(3, "ChatServer.py defines no class CRCServer (the course's template names it so)")

options = types.SimpleNamespace(id=opt.id, servername=opt.servername, info=opt.info, port=opt.port,
                                connect_to_host=opt.connect_to_host, connect_to_port=opt.connect_to_port,
                                log_file=opt.log_file)
try:
    server = cls(options, run_on_localhost=True)
except BaseException:
    sys.stderr.write(traceback.format_exc())
    fail(4, "CRCServer(options, run_on_localhost=True) raised the exception above")

errors = []
done = threading.Event()

def as_id(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isdigit():
        return int(v)
    inner = getattr(v, "id", None)
    return as_id(inner) if inner is not None and inner is not v else None

def first_link(entry):
    names = [n for n in dir(entry) if "first_link" in n.lower() or n.lower() in ("firstlink", "first")]
    for n in sorted(names, key=len):
        v = getattr(entry, n, None)
        if callable(v):
            continue
        got = as_id(v)
        if got is not None:
            return got
    return None

def attributes():
    missing = [a for a in ("hosts_db", "adjacent_server_ids", "adjacent_user_ids", "status_updates_log") if not hasattr(server, a)]
    for _ in range(20):   # the server's thread may change a table while it is read: read again
        try:
            hosts = []
            for key, entry in list((getattr(server, "hosts_db", None) or {}).items()):
                hid = as_id(key)
                if hid is None:
                    hid = as_id(entry)
                if hid is not None:
                    hosts.append({"id": hid, "first_link": first_link(entry)})
            ids = lambda name: [i for i in (as_id(v) for v in list(getattr(server, name, None) or [])) if i is not None]
            return {"hosts_db": hosts, "adjacent_server_ids": ids("adjacent_server_ids"),
                    "adjacent_user_ids": ids("adjacent_user_ids"),
                    "status_updates_log": [str(t) for t in list(getattr(server, "status_updates_log", None) or [])],
                    "missing": missing, "error": errors[0] if errors else None}
        except RuntimeError:
            time.sleep(0.001)
    return {"hosts_db": [], "adjacent_server_ids": [], "adjacent_user_ids": [], "status_updates_log": [],
            "missing": missing, "error": "the object's tables kept changing while they were read"}

state = socket.socket()
state.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
state.bind(("127.0.0.1", 0))
state.listen(16)

def serve_state():
    while True:
        try:
            conn, _ = state.accept()
        except OSError:
            return
        try:
            conn.settimeout(5)
            conn.recv(4096)
            conn.sendall((json.dumps(attributes()) + "\n").encode())
        except OSError:
            pass
        finally:
            conn.close()

def run():
    try:
        server.run()
    except BaseException:
        errors.append(traceback.format_exc())
        sys.stderr.write(errors[-1])
        sys.stderr.flush()
    finally:
        done.set()

def stop(*_):
    server.request_terminate = True
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

threading.Thread(target=serve_state, daemon=True).start()
print(json.dumps({"event": "class_state", "state_port": state.getsockname()[1], "pid": os.getpid()}), flush=True)
threading.Thread(target=run, daemon=True).start()
asked = lambda: bool(getattr(server, "request_terminate", False))
while not done.wait(0.1):
    pass
if errors:
    os._exit(1)
if not asked():
    fail(1, "run() returned without being asked to stop")
os._exit(0)
"""#

    public static let clientFileName = "crc_client_host.py"

    /// The same for a course-style client class (`ChatClient.py` holding `class CRCClient`): stdin
    /// lines become the harness's calls (`message_other_client`, `quit`).
    public static let clientSource = #"""
#!/usr/bin/env python3
"""crc-cluster's host for a course-style client class: it runs one CRCClient object of a
student's ChatClient.py as a CRC client process. Written from the interface in docs/protocol.md
("The course's Python classes").

usage: client_host.py --submission PATH [--starter DIR] --id N --serverhost H --serverport P
                      --username NAME [--info TEXT] [--log-file FILE]

It builds `options` from the course's client options, calls run() in a thread, and turns lines
on stdin into the harness's calls: "msg ID TEXT" -> message_other_client(ID, TEXT), "quit TEXT"
-> quit(TEXT) (end of input: quit()). Like the server host it prints a class_state line whose
port answers with the object's status_updates_log (and the traceback of an exception that ended
run()). Exit status: 0 after quitting; 1 run() raised; 3 the submission cannot be loaded; 4
importing it or building the object raised.
"""
import argparse, importlib.util, inspect, json, os, signal, socket, sys, threading, time, traceback, types

p = argparse.ArgumentParser()
p.add_argument("--submission", required=True)
p.add_argument("--starter")
p.add_argument("--id", type=int, required=True)
p.add_argument("--serverhost", required=True)
p.add_argument("--serverport", type=int, required=True)
p.add_argument("--username", required=True)
p.add_argument("--info", default="")
p.add_argument("--log-file", dest="log_file")
opt = p.parse_args()

def fail(code, text):
    sys.stderr.write("client host: %s\n" % text)
    sys.stderr.flush()
    os._exit(code)

path = os.path.abspath(opt.submission)
if os.path.isdir(path):
    path = os.path.join(path, "ChatClient.py")
if not os.path.isfile(path):
    fail(3, "no ChatClient.py at %s (give the submission's ChatClient.py, or the folder that holds it)" % path)
folder = os.path.dirname(path)
search = [folder] + ([os.path.abspath(opt.starter)] if opt.starter else [])
sys.path[:0] = search
try:
    spec = importlib.util.spec_from_file_location("ChatClient", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ChatClient"] = module
    spec.loader.exec_module(module)
except SystemExit:
    fail(4, "importing ChatClient.py called exit()")
except ModuleNotFoundError as e:
    fail(3, "ChatClient.py imports %s, which is neither beside it nor among the starter files: supply it, or give its folder with --starter DIR" % e.name)
except BaseException:
    sys.stderr.write(traceback.format_exc())
    fail(4, "importing ChatClient.py raised the exception above")
cls = getattr(module, "CRCClient", None)
if not isinstance(cls, type):
    fail(3, "ChatClient.py defines no class CRCClient (the course's template names it so)")
options = types.SimpleNamespace(id=opt.id, serverhost=opt.serverhost, serverport=opt.serverport, username=opt.username,
                                info=opt.info, log_file=opt.log_file, simulate=False, verbose=False, debug=False)
try:
    client = cls(options, run_on_localhost=True)
except BaseException:
    sys.stderr.write(traceback.format_exc())
    fail(4, "CRCClient(options, run_on_localhost=True) raised the exception above")

errors = []
done = threading.Event()

def attributes():
    missing = [a for a in ("status_updates_log",) if not hasattr(client, a)]
    return {"hosts_db": [], "adjacent_server_ids": [], "adjacent_user_ids": [],
            "status_updates_log": [str(t) for t in list(getattr(client, "status_updates_log", None) or [])],
            "missing": missing, "error": errors[0] if errors else None}

state = socket.socket()
state.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
state.bind(("127.0.0.1", 0))
state.listen(16)

def serve_state():
    while True:
        try:
            conn, _ = state.accept()
        except OSError:
            return
        try:
            conn.settimeout(5)
            conn.recv(4096)
            conn.sendall((json.dumps(attributes()) + "\n").encode())
        except OSError:
            pass
        finally:
            conn.close()

def run():
    try:
        client.run()
    except BaseException:
        errors.append(traceback.format_exc())
        sys.stderr.write(errors[-1])
        sys.stderr.flush()
    finally:
        done.set()

def call_quit(text):
    q = getattr(client, "quit", None)
    if q is None:
        client.request_terminate = True
        return
    try:
        takes = len(inspect.signature(q).parameters) > 0
    except (TypeError, ValueError):
        takes = True
    q(text) if takes and text is not None else q()

signal.signal(signal.SIGTERM, lambda *_: (setattr(client, "request_terminate", True), os._exit(0)))
threading.Thread(target=serve_state, daemon=True).start()
print(json.dumps({"event": "class_state", "state_port": state.getsockname()[1], "pid": os.getpid()}), flush=True)
threading.Thread(target=run, daemon=True).start()
try:
    for line in sys.stdin:
        line = line.rstrip("\n")
        word, _, rest = line.partition(" ")
        try:
            if word == "msg":
                to, _, text = rest.partition(" ")
                client.message_other_client(int(to), text)
            elif word == "quit":
                call_quit(rest)
                break
        except BaseException:
            errors.append(traceback.format_exc())
            sys.stderr.write(errors[-1])
            sys.stderr.flush()
            os._exit(1)
    else:
        call_quit(None)
except BaseException:
    sys.stderr.write(traceback.format_exc())
    os._exit(1)
done.wait(5)
os._exit(1 if errors else 0)
"""#
}
