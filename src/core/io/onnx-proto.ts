/**
 * The ONNX protobuf schema (onnx-proto: generated protobufjs code for the official onnx.proto).
 * The package is CommonJS exporting its root namespace, which ESM sees as the default export.
 */
import type { onnx as OnnxNamespace } from 'onnx-proto';
import root from 'onnx-proto';

export const onnx: typeof OnnxNamespace = (root as unknown as { onnx: typeof OnnxNamespace }).onnx;
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace onnx {
  type INodeProto = OnnxNamespace.INodeProto;
  type ITensorProto = OnnxNamespace.ITensorProto;
  type IAttributeProto = OnnxNamespace.IAttributeProto;
  type IModelProto = OnnxNamespace.IModelProto;
  type IGraphProto = OnnxNamespace.IGraphProto;
  type ModelProto = OnnxNamespace.ModelProto;
}
