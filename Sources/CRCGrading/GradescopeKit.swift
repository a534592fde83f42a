/// The files of a ready Gradescope autograder (`crc-cluster gradescope-kit DIR`): Gradescope runs
/// `setup.sh` once when the image is built and `run_autograder` for every submission, which is
/// in `/autograder/submission`; the results go to `/autograder/results/results.json`. Pure text.
public enum GradescopeKit {
    public static let setup = """
    #!/usr/bin/env bash
    # Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
    # crc-cluster is in bin/ (a release build with the Swift runtime linked in); it needs Python 3
    # for the students' classes, and libyaml and libedit, which it links.
    set -euo pipefail
    cd "$(dirname "$0")"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 libyaml-0-2 libedit2
    install -m 755 bin/crc-cluster /usr/local/bin/crc-cluster
    crc-cluster --version

    """

    /// `run_autograder`, grading with the options the kit was made with.
    public static func runAutograder(arguments: [String]) -> String {
        let quoted = arguments.map { a in
            a.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:@$".contains($0) } ? a : "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
        return """
        #!/usr/bin/env bash
        # Gradescope runs this for every submission. AUTOGRADER and CRC_CLUSTER can be set to try it
        # elsewhere (a folder holding submission/, source/ and results/; another crc-cluster).
        set -u
        AUTOGRADER=${AUTOGRADER:-/autograder}
        CRC_CLUSTER=${CRC_CLUSTER:-crc-cluster}
        SOURCE="$AUTOGRADER/source"
        RESULTS="$AUTOGRADER/results"
        mkdir -p "$RESULTS"
        rm -f "$RESULTS/results.json"
        cd "$SOURCE"
        "$CRC_CLUSTER" grade --course-python "$AUTOGRADER/submission" --gradescope "$RESULTS/results.json" \\
            --logs "$RESULTS/logs" \(quoted) > "$RESULTS/grade.txt" 2>&1
        status=$?
        cat "$RESULTS/grade.txt"
        if [ ! -s "$RESULTS/results.json" ]; then
          # Grading could not start (no ChatServer.py, say): a score of 0 that says why.
          python3 - "$RESULTS/grade.txt" "$RESULTS/results.json" <<'PY'
        import json, sys
        text = open(sys.argv[1], errors="replace").read()[-4000:]
        json.dump({"score": 0, "output": "The submission could not be graded:\\n" + text, "visibility": "visible",
                   "stdout_visibility": "hidden", "tests": []}, open(sys.argv[2], "w"), indent=2)
        PY
        fi
        exit 0

        """
    }

    public static let readme = """
    # A Gradescope autograder made by crc-cluster

    1. Zip this folder's contents (not the folder itself):
       `cd THIS_FOLDER && python3 -m zipfile -c ../autograder.zip setup.sh run_autograder bin $(ls -d starter weights.yaml scenarios 2>/dev/null)`
    2. In Gradescope, create a Programming Assignment, choose "Configure Autograder", the Ubuntu
       base image, and upload autograder.zip.
    3. Students submit ChatServer.py (ChatMessageParser.py is supplied from starter/ when this
       kit was made with --starter).

    Each scenario is a test worth its weight; hidden ones are shown after grades are published.
    To try it here first: make a folder with submission/ (a ChatServer.py), source/ (this folder's
    contents) and results/, then run `AUTOGRADER=that/folder CRC_CLUSTER=bin/crc-cluster ./run_autograder`.

    """
}
