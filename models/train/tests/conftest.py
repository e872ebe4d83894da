import os
import sys

import torch

# Tests import the pipeline as `doppel_train` from models/train, whatever the working directory.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(2)
