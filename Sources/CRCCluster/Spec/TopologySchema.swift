/// A JSON Schema (draft 2020-12) of the topology and scenario format, for editors' YAML language
/// servers and for checking files outside crc-cluster: `crc-cluster schema`. It describes what
/// `TopologyLoader` accepts key for key (SchemaTests compares its keys with the decoder's); the
/// checks across nodes (unique ids and names, upstreams that exist, no cycles) are the loader's
/// alone: `crc-cluster validate` runs them.
public enum TopologySchema {
    public static let id = "https://crc.invalid/schema/topology.json"

    public static let json = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://crc.invalid/schema/topology.json",
  "title": "crc-cluster topology or scenario",
  "description": "Servers in a spanning tree, clients attached to them, and optionally the steps and expectations that make a scenario. See docs/topology-format.md.",
  "type": "object",
  "additionalProperties": false,
  "required": ["servers"],
  "properties": {
    "name": {"$ref": "#/$defs/text", "description": "The scenario's name in results and logs (default: the file's name)."},
    "description": {"$ref": "#/$defs/text", "description": "One line on what the scenario shows, printed by up."},
    "servers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/server"}, "description": "Every server; the one without upstream is the root."},
    "clients": {"type": ["array", "null"], "items": {"$ref": "#/$defs/client"}},
    "steps": {"type": ["array", "null"], "items": {"$ref": "#/$defs/step"}, "description": "What a scenario does after launch; the network must settle after each."},
    "expect": {
      "type": ["object", "null"],
      "description": "Hand-written final state per node name; each field given replaces the one derived from the tree.",
      "additionalProperties": {"$ref": "#/$defs/expectation"}
    },
    "first_messages": {
      "type": ["object", "null"],
      "description": "Per server name: the first message (hex) expected on each inbound server link.",
      "additionalProperties": {"type": "array", "items": {"type": "string", "pattern": "^([0-9a-fA-F]{2})*$"}}
    },
    "server_args": {"$ref": "#/$defs/template", "description": "Argument template for every server with a command and no args of its own."},
    "client_args": {"$ref": "#/$defs/template", "description": "Argument template for every client with a command and no args of its own."}
  },
  "$defs": {
    "text": {"type": ["string", "number", "boolean"]},
    "id": {"type": "integer", "minimum": 1, "maximum": 4294967295, "description": "32-bit, unique in the network, never 0."},
    "name": {"type": ["string", "number"], "description": "Unique among all nodes; at most 255 bytes."},
    "command": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/text"}, "description": "Another implementation's executable and leading arguments."},
    "template": {"type": "array", "items": {"$ref": "#/$defs/text"}, "description": "Arguments with placeholders such as {id}, {name}, {port}."},
    "server": {
      "type": "object",
      "additionalProperties": false,
      "required": ["id", "name"],
      "properties": {
        "id": {"$ref": "#/$defs/id"},
        "name": {"$ref": "#/$defs/name"},
        "info": {"$ref": "#/$defs/text"},
        "upstream": {"$ref": "#/$defs/name", "description": "The server this one joins; none for the root."},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535, "description": "A fixed port (default: a free one)."},
        "command": {"$ref": "#/$defs/command"},
        "args": {"$ref": "#/$defs/template"},
        "refused": {"type": "boolean", "description": "Reuses an id on purpose and must be refused."},
        "start": {"type": "boolean", "description": "false: started by a start step, not at launch."},
        "host": {"type": "string", "description": "check --attach: where a server crc-cluster did not start listens."},
        "monitor": {"type": "integer", "minimum": 0, "maximum": 65535, "description": "check --attach: its monitoring port."}
      }
    },
    "client": {
      "type": "object",
      "additionalProperties": false,
      "required": ["id", "name", "server"],
      "properties": {
        "id": {"$ref": "#/$defs/id"},
        "name": {"$ref": "#/$defs/name"},
        "info": {"$ref": "#/$defs/text"},
        "server": {"$ref": "#/$defs/name", "description": "The server it attaches to."},
        "command": {"$ref": "#/$defs/command"},
        "args": {"$ref": "#/$defs/template"},
        "refused": {"type": "boolean", "description": "Reuses an id on purpose and must be refused."},
        "start": {"type": "boolean", "description": "false: started by a start step, not at launch."},
        "external": {"type": "boolean", "description": "check --attach: runs elsewhere; neither started nor asked."}
      }
    },
    "step": {
      "oneOf": [
        {"const": "settle"},
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "start": {"$ref": "#/$defs/name"},
            "stop": {"$ref": "#/$defs/name"},
            "kill": {"$ref": "#/$defs/name"},
            "restart": {"$ref": "#/$defs/name"},
            "cut": {"$ref": "#/$defs/name", "description": "A server whose upstream link is cut."},
            "heal": {"$ref": "#/$defs/name", "description": "A server whose upstream link is healed."},
            "delay": {
              "type": "object", "additionalProperties": false, "required": ["link", "ms"],
              "properties": {"link": {"$ref": "#/$defs/name"}, "ms": {"type": "integer", "minimum": 0, "maximum": 60000}}
            },
            "chat": {
              "type": "object", "additionalProperties": false, "required": ["from", "to", "text"],
              "properties": {
                "from": {"$ref": "#/$defs/name"},
                "to": {"type": ["string", "integer"], "description": "A node's name, or any id (an unknown one is answered by the sender's server)."},
                "text": {"$ref": "#/$defs/text"}
              }
            },
            "quit": {
              "type": "object", "additionalProperties": false, "required": ["client"],
              "properties": {"client": {"$ref": "#/$defs/name"}, "text": {"$ref": "#/$defs/text"}}
            },
            "settle": {"type": ["string", "null"]},
            "within": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds the network may take to settle after this step."}
          },
          "oneOf": [
            {"required": ["start"]}, {"required": ["stop"]}, {"required": ["kill"]}, {"required": ["restart"]},
            {"required": ["cut"]}, {"required": ["heal"]}, {"required": ["delay"]}, {"required": ["chat"]},
            {"required": ["quit"]}, {"required": ["settle"]}
          ]
        }
      ]
    },
    "expectation": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "hosts": {"type": "array", "items": {"$ref": "#/$defs/id"}},
        "adjacent_servers": {"type": "array", "items": {"$ref": "#/$defs/id"}},
        "adjacent_clients": {"type": "array", "items": {"$ref": "#/$defs/id"}},
        "users": {"type": "array", "items": {"$ref": "#/$defs/id"}},
        "status_log": {"type": "array", "items": {"$ref": "#/$defs/text"}},
        "chat_log": {"type": "array", "items": {"$ref": "#/$defs/text"}}
      }
    }
  }
}
"""#
}
