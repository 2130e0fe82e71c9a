package org.genrec.runtime.onnx;

/** Where a graph runs. AUTO takes CUDA when ONNX Runtime offers it and it initializes, else CPU. */
public enum ExecutionProvider {
    AUTO,
    CPU,
    CUDA
}
