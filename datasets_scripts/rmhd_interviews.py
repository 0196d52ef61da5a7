"""`python datasets_scripts/rmhd_interviews.py ...` = `depdetect data rmhd-interviews ...`.

SIMULATED interviews with known deciding turns from the bundled RMHD posts (depdetect.dual_encoder.simulated);
errors end in one `error:` line (exit 2; --debug shows the traceback).
"""

from depdetect.cli import data_main

if __name__ == "__main__":
    data_main("rmhd-interviews")
