"""The train stage of the pipeline (pipelines/dvc.yaml). Replace the body with the project's own step."""

import sys


def main(argv):
    raise SystemExit("train: not written yet; see pipelines/dvc.yaml for its inputs and outputs.")


if __name__ == "__main__":
    main(sys.argv[1:])
