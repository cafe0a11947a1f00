import * as $protobuf from 'protobufjs';
import Long = require('long');

/** Namespace asyncfl. */
export namespace asyncfl {
  /** Namespace v1. */
  namespace v1 {
    /** Encoding enum. */
    enum Encoding {
      /** ENCODING_FLOAT32 value */
      ENCODING_FLOAT32 = 0,

      /** ENCODING_FLOAT16 value */
      ENCODING_FLOAT16 = 1,

      /** ENCODING_INT8 value */
      ENCODING_INT8 = 2,

      /** ENCODING_TOPK value */
      ENCODING_TOPK = 3,
    }

    /**
     * Properties of a Tensor.
     * @deprecated Use asyncfl.v1.Tensor.$Properties instead.
     */
    interface ITensor extends asyncfl.v1.Tensor.$Properties {}

    /** Represents a Tensor. */
    class Tensor {
      /**
       * Constructs a new Tensor.
       * @param [properties] Properties to set
       */
      constructor(properties?: asyncfl.v1.Tensor.$Properties);

      /** Unknown fields preserved while decoding when enabled */
      $unknowns?: Uint8Array[];

      /** Tensor name. */
      name: string;

      /** Tensor shape. */
      shape: number[];

      /** Tensor encoding. */
      encoding: asyncfl.v1.Encoding;

      /** Tensor data. */
      data: Uint8Array;

      /** Tensor scale. */
      scale: number;

      /** Tensor indices. */
      indices: Uint8Array;

      /**
       * Creates a new Tensor instance using the specified properties.
       * @param [properties] Properties to set
       * @returns Tensor instance
       */
      static create(
        properties: asyncfl.v1.Tensor.$Shape
      ): asyncfl.v1.Tensor & asyncfl.v1.Tensor.$Shape;
      static create(properties?: asyncfl.v1.Tensor.$Properties): asyncfl.v1.Tensor;

      /**
       * Encodes the specified Tensor message. Does not implicitly {@link asyncfl.v1.Tensor.verify|verify} messages.
       * @param message Tensor message or plain object to encode
       * @param [writer] Writer to encode to
       * @returns Writer
       */
      static encode(
        message: asyncfl.v1.Tensor.$Properties,
        writer?: $protobuf.Writer
      ): $protobuf.Writer;

      /**
       * Decodes a Tensor message from the specified reader or buffer.
       * @param reader Reader or buffer to decode from
       * @param [length] Message length if known beforehand
       * @returns {asyncfl.v1.Tensor & asyncfl.v1.Tensor.$Shape} Tensor
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      static decode(
        reader: $protobuf.Reader | Uint8Array,
        length?: number
      ): asyncfl.v1.Tensor & asyncfl.v1.Tensor.$Shape;

      /**
       * Gets the type url for Tensor
       * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns The type url
       */
      static getTypeUrl(prefix?: string): string;
    }

    namespace Tensor {
      /** Properties of a Tensor. */
      interface $Properties {
        /** Tensor name */
        name?: string | null;

        /** Tensor shape */
        shape?: number[] | null;

        /** Tensor encoding */
        encoding?: asyncfl.v1.Encoding | null;

        /** Tensor data */
        data?: Uint8Array | null;

        /** Tensor scale */
        scale?: number | null;

        /** Tensor indices */
        indices?: Uint8Array | null;

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];
      }

      /** Shape of a Tensor. */
      type $Shape = asyncfl.v1.Tensor.$Properties;
    }

    /**
     * Properties of an Update.
     * @deprecated Use asyncfl.v1.Update.$Properties instead.
     */
    interface IUpdate extends asyncfl.v1.Update.$Properties {}

    /** Represents an Update. */
    class Update {
      /**
       * Constructs a new Update.
       * @param [properties] Properties to set
       */
      constructor(properties?: asyncfl.v1.Update.$Properties);

      /** Unknown fields preserved while decoding when enabled */
      $unknowns?: Uint8Array[];

      /** Update schemaVersion. */
      schemaVersion: number;

      /** Update job. */
      job: string;

      /** Update rank. */
      rank: number;

      /** Update workerId. */
      workerId: string;

      /** Update incarnation. */
      incarnation: string;

      /** Update seq. */
      seq: number;

      /** Update baseVersion. */
      baseVersion: number;

      /** Update numExamples. */
      numExamples: number;

      /** Update localSteps. */
      localSteps: number;

      /** Update localLr. */
      localLr: number;

      /** Update trainLoss. */
      trainLoss: number;

      /** Update tensors. */
      tensors: asyncfl.v1.Tensor.$Properties[];

      /** Update architectureHash. */
      architectureHash: string;

      /** Update dpEpsilon. */
      dpEpsilon: number;

      /** Update dpDelta. */
      dpDelta: number;

      /**
       * Creates a new Update instance using the specified properties.
       * @param [properties] Properties to set
       * @returns Update instance
       */
      static create(
        properties: asyncfl.v1.Update.$Shape
      ): asyncfl.v1.Update & asyncfl.v1.Update.$Shape;
      static create(properties?: asyncfl.v1.Update.$Properties): asyncfl.v1.Update;

      /**
       * Encodes the specified Update message. Does not implicitly {@link asyncfl.v1.Update.verify|verify} messages.
       * @param message Update message or plain object to encode
       * @param [writer] Writer to encode to
       * @returns Writer
       */
      static encode(
        message: asyncfl.v1.Update.$Properties,
        writer?: $protobuf.Writer
      ): $protobuf.Writer;

      /**
       * Decodes an Update message from the specified reader or buffer.
       * @param reader Reader or buffer to decode from
       * @param [length] Message length if known beforehand
       * @returns {asyncfl.v1.Update & asyncfl.v1.Update.$Shape} Update
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      static decode(
        reader: $protobuf.Reader | Uint8Array,
        length?: number
      ): asyncfl.v1.Update & asyncfl.v1.Update.$Shape;

      /**
       * Gets the type url for Update
       * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns The type url
       */
      static getTypeUrl(prefix?: string): string;
    }

    namespace Update {
      /** Properties of an Update. */
      interface $Properties {
        /** Update schemaVersion */
        schemaVersion?: number | null;

        /** Update job */
        job?: string | null;

        /** Update rank */
        rank?: number | null;

        /** Update workerId */
        workerId?: string | null;

        /** Update incarnation */
        incarnation?: string | null;

        /** Update seq */
        seq?: number | null;

        /** Update baseVersion */
        baseVersion?: number | null;

        /** Update numExamples */
        numExamples?: number | null;

        /** Update localSteps */
        localSteps?: number | null;

        /** Update localLr */
        localLr?: number | null;

        /** Update trainLoss */
        trainLoss?: number | null;

        /** Update tensors */
        tensors?: asyncfl.v1.Tensor.$Properties[] | null;

        /** Update architectureHash */
        architectureHash?: string | null;

        /** Update dpEpsilon */
        dpEpsilon?: number | null;

        /** Update dpDelta */
        dpDelta?: number | null;

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];
      }

      /** Shape of an Update. */
      type $Shape = asyncfl.v1.Update.$Properties;
    }

    /**
     * Properties of a Chunk.
     * @deprecated Use asyncfl.v1.Chunk.$Properties instead.
     */
    interface IChunk extends asyncfl.v1.Chunk.$Properties {}

    /** Represents a Chunk. */
    class Chunk {
      /**
       * Constructs a new Chunk.
       * @param [properties] Properties to set
       */
      constructor(properties?: asyncfl.v1.Chunk.$Properties);

      /** Unknown fields preserved while decoding when enabled */
      $unknowns?: Uint8Array[];

      /** Chunk updateId. */
      updateId: string;

      /** Chunk index. */
      index: number;

      /** Chunk count. */
      count: number;

      /** Chunk data. */
      data: Uint8Array;

      /** Chunk totalBytes. */
      totalBytes: number;

      /**
       * Creates a new Chunk instance using the specified properties.
       * @param [properties] Properties to set
       * @returns Chunk instance
       */
      static create(
        properties: asyncfl.v1.Chunk.$Shape
      ): asyncfl.v1.Chunk & asyncfl.v1.Chunk.$Shape;
      static create(properties?: asyncfl.v1.Chunk.$Properties): asyncfl.v1.Chunk;

      /**
       * Encodes the specified Chunk message. Does not implicitly {@link asyncfl.v1.Chunk.verify|verify} messages.
       * @param message Chunk message or plain object to encode
       * @param [writer] Writer to encode to
       * @returns Writer
       */
      static encode(
        message: asyncfl.v1.Chunk.$Properties,
        writer?: $protobuf.Writer
      ): $protobuf.Writer;

      /**
       * Decodes a Chunk message from the specified reader or buffer.
       * @param reader Reader or buffer to decode from
       * @param [length] Message length if known beforehand
       * @returns {asyncfl.v1.Chunk & asyncfl.v1.Chunk.$Shape} Chunk
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      static decode(
        reader: $protobuf.Reader | Uint8Array,
        length?: number
      ): asyncfl.v1.Chunk & asyncfl.v1.Chunk.$Shape;

      /**
       * Gets the type url for Chunk
       * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns The type url
       */
      static getTypeUrl(prefix?: string): string;
    }

    namespace Chunk {
      /** Properties of a Chunk. */
      interface $Properties {
        /** Chunk updateId */
        updateId?: string | null;

        /** Chunk index */
        index?: number | null;

        /** Chunk count */
        count?: number | null;

        /** Chunk data */
        data?: Uint8Array | null;

        /** Chunk totalBytes */
        totalBytes?: number | null;

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];
      }

      /** Shape of a Chunk. */
      type $Shape = asyncfl.v1.Chunk.$Properties;
    }

    /**
     * Properties of an Envelope.
     * @deprecated Use asyncfl.v1.Envelope.$Properties instead.
     */
    interface IEnvelope extends asyncfl.v1.Envelope.$Properties {}

    /** Represents an Envelope. */
    class Envelope {
      /**
       * Constructs a new Envelope.
       * @param [properties] Properties to set
       */
      constructor(properties?: asyncfl.v1.Envelope.$Properties);

      /** Unknown fields preserved while decoding when enabled */
      $unknowns?: Uint8Array[];

      /** Envelope update. */
      update?: asyncfl.v1.Update.$Properties | null;

      /** Envelope chunk. */
      chunk?: asyncfl.v1.Chunk.$Properties | null;

      /** Envelope body. */
      body?: 'update' | 'chunk';

      /**
       * Creates a new Envelope instance using the specified properties.
       * @param [properties] Properties to set
       * @returns Envelope instance
       */
      static create(
        properties: asyncfl.v1.Envelope.$Shape
      ): asyncfl.v1.Envelope & asyncfl.v1.Envelope.$Shape;
      static create(properties?: asyncfl.v1.Envelope.$Properties): asyncfl.v1.Envelope;

      /**
       * Encodes the specified Envelope message. Does not implicitly {@link asyncfl.v1.Envelope.verify|verify} messages.
       * @param message Envelope message or plain object to encode
       * @param [writer] Writer to encode to
       * @returns Writer
       */
      static encode(
        message: asyncfl.v1.Envelope.$Properties,
        writer?: $protobuf.Writer
      ): $protobuf.Writer;

      /**
       * Decodes an Envelope message from the specified reader or buffer.
       * @param reader Reader or buffer to decode from
       * @param [length] Message length if known beforehand
       * @returns {asyncfl.v1.Envelope & asyncfl.v1.Envelope.$Shape} Envelope
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      static decode(
        reader: $protobuf.Reader | Uint8Array,
        length?: number
      ): asyncfl.v1.Envelope & asyncfl.v1.Envelope.$Shape;

      /**
       * Gets the type url for Envelope
       * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns The type url
       */
      static getTypeUrl(prefix?: string): string;
    }

    namespace Envelope {
      /** Properties of an Envelope. */
      interface $Properties {
        /** Envelope update */
        update?: asyncfl.v1.Update.$Properties | null;

        /** Envelope chunk */
        chunk?: asyncfl.v1.Chunk.$Properties | null;

        /** Envelope body */
        body?: 'update' | 'chunk';

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];
      }

      /** Narrowed shape of an Envelope. */
      type $Shape = {
        update?: asyncfl.v1.Update.$Shape | null;
        chunk?: asyncfl.v1.Chunk.$Shape | null;
        $unknowns?: Uint8Array[];
      } & (
        | { body?: undefined; update?: null; chunk?: null }
        | { body?: 'update'; update: asyncfl.v1.Update.$Shape; chunk?: null }
        | { body?: 'chunk'; update?: null; chunk: asyncfl.v1.Chunk.$Shape }
      );
    }

    /**
     * Properties of a Snapshot.
     * @deprecated Use asyncfl.v1.Snapshot.$Properties instead.
     */
    interface ISnapshot extends asyncfl.v1.Snapshot.$Properties {}

    /** Represents a Snapshot. */
    class Snapshot {
      /**
       * Constructs a new Snapshot.
       * @param [properties] Properties to set
       */
      constructor(properties?: asyncfl.v1.Snapshot.$Properties);

      /** Unknown fields preserved while decoding when enabled */
      $unknowns?: Uint8Array[];

      /** Snapshot schemaVersion. */
      schemaVersion: number;

      /** Snapshot job. */
      job: string;

      /** Snapshot version. */
      version: number;

      /** Snapshot weights. */
      weights: asyncfl.v1.Tensor.$Properties[];

      /** Snapshot stateTensors. */
      stateTensors: asyncfl.v1.Tensor.$Properties[];

      /** Snapshot stateScalars. */
      stateScalars: { [k: string]: number };

      /** Snapshot architectureHash. */
      architectureHash: string;

      /**
       * Creates a new Snapshot instance using the specified properties.
       * @param [properties] Properties to set
       * @returns Snapshot instance
       */
      static create(
        properties: asyncfl.v1.Snapshot.$Shape
      ): asyncfl.v1.Snapshot & asyncfl.v1.Snapshot.$Shape;
      static create(properties?: asyncfl.v1.Snapshot.$Properties): asyncfl.v1.Snapshot;

      /**
       * Encodes the specified Snapshot message. Does not implicitly {@link asyncfl.v1.Snapshot.verify|verify} messages.
       * @param message Snapshot message or plain object to encode
       * @param [writer] Writer to encode to
       * @returns Writer
       */
      static encode(
        message: asyncfl.v1.Snapshot.$Properties,
        writer?: $protobuf.Writer
      ): $protobuf.Writer;

      /**
       * Decodes a Snapshot message from the specified reader or buffer.
       * @param reader Reader or buffer to decode from
       * @param [length] Message length if known beforehand
       * @returns {asyncfl.v1.Snapshot & asyncfl.v1.Snapshot.$Shape} Snapshot
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      static decode(
        reader: $protobuf.Reader | Uint8Array,
        length?: number
      ): asyncfl.v1.Snapshot & asyncfl.v1.Snapshot.$Shape;

      /**
       * Gets the type url for Snapshot
       * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns The type url
       */
      static getTypeUrl(prefix?: string): string;
    }

    namespace Snapshot {
      /** Properties of a Snapshot. */
      interface $Properties {
        /** Snapshot schemaVersion */
        schemaVersion?: number | null;

        /** Snapshot job */
        job?: string | null;

        /** Snapshot version */
        version?: number | null;

        /** Snapshot weights */
        weights?: asyncfl.v1.Tensor.$Properties[] | null;

        /** Snapshot stateTensors */
        stateTensors?: asyncfl.v1.Tensor.$Properties[] | null;

        /** Snapshot stateScalars */
        stateScalars?: { [k: string]: number } | null;

        /** Snapshot architectureHash */
        architectureHash?: string | null;

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];
      }

      /** Shape of a Snapshot. */
      type $Shape = asyncfl.v1.Snapshot.$Properties;
    }
  }
}
