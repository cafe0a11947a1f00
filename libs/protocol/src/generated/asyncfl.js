/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-mixed-operators, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars, default-case, jsdoc/require-param*/
import $protobuf from 'protobufjs/minimal.js';

// Common aliases
const $Reader = $protobuf.Reader,
  $Writer = $protobuf.Writer,
  $util = $protobuf.util;
const $Object = $util.global.Object,
  $undefined = $util.global.undefined,
  $Error = $util.global.Error,
  $RangeError = $util.global.RangeError;

// Exported root namespace
const $root = $protobuf.roots['default'] || ($protobuf.roots['default'] = {});

export const asyncfl = ($root.asyncfl = (() => {
  /**
   * Namespace asyncfl.
   * @exports asyncfl
   * @namespace
   */
  const asyncfl = {};

  asyncfl.v1 = (function () {
    /**
     * Namespace v1.
     * @memberof asyncfl
     * @namespace
     */
    const v1 = {};

    /**
     * Encoding enum.
     * @name asyncfl.v1.Encoding
     * @enum {number}
     * @property {number} ENCODING_FLOAT32=0 ENCODING_FLOAT32 value
     * @property {number} ENCODING_FLOAT16=1 ENCODING_FLOAT16 value
     * @property {number} ENCODING_INT8=2 ENCODING_INT8 value
     * @property {number} ENCODING_TOPK=3 ENCODING_TOPK value
     */
    v1.Encoding = (function () {
      const valuesById = $Object.create(null),
        values = $Object.create(valuesById);
      values[(valuesById[0] = 'ENCODING_FLOAT32')] = 0;
      values[(valuesById[1] = 'ENCODING_FLOAT16')] = 1;
      values[(valuesById[2] = 'ENCODING_INT8')] = 2;
      values[(valuesById[3] = 'ENCODING_TOPK')] = 3;
      return values;
    })();

    v1.Tensor = (function () {
      /**
       * Properties of a Tensor.
       * @typedef {Object} asyncfl.v1.Tensor.$Properties
       * @property {string|null} [name] Tensor name
       * @property {Array.<number>|null} [shape] Tensor shape
       * @property {asyncfl.v1.Encoding|null} [encoding] Tensor encoding
       * @property {Uint8Array|null} [data] Tensor data
       * @property {number|null} [scale] Tensor scale
       * @property {Uint8Array|null} [indices] Tensor indices
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */

      /**
       * Properties of a Tensor.
       * @memberof asyncfl.v1
       * @interface ITensor
       * @augments asyncfl.v1.Tensor.$Properties
       * @deprecated Use asyncfl.v1.Tensor.$Properties instead.
       */

      /**
       * Shape of a Tensor.
       * @typedef {asyncfl.v1.Tensor.$Properties} asyncfl.v1.Tensor.$Shape
       */

      /**
       * Constructs a new Tensor.
       * @memberof asyncfl.v1
       * @classdesc Represents a Tensor.
       * @constructor
       * @param {asyncfl.v1.Tensor.$Properties=} [properties] Properties to set
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */
      const Tensor = function (properties) {
        this.shape = [];
        if (properties)
          for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
            if (properties[keys[i]] != null && keys[i] !== '__proto__')
              this[keys[i]] = properties[keys[i]];
      };

      /**
       * Tensor name.
       * @member {string} name
       * @memberof asyncfl.v1.Tensor
       * @instance
       */
      Tensor.prototype.name = '';

      /**
       * Tensor shape.
       * @member {Array.<number>} shape
       * @memberof asyncfl.v1.Tensor
       * @instance
       */
      Tensor.prototype.shape = $util.emptyArray;

      /**
       * Tensor encoding.
       * @member {asyncfl.v1.Encoding} encoding
       * @memberof asyncfl.v1.Tensor
       * @instance
       */
      Tensor.prototype.encoding = 0;

      /**
       * Tensor data.
       * @member {Uint8Array} data
       * @memberof asyncfl.v1.Tensor
       * @instance
       */
      Tensor.prototype.data = $util.newBuffer([]);

      /**
       * Tensor scale.
       * @member {number} scale
       * @memberof asyncfl.v1.Tensor
       * @instance
       */
      Tensor.prototype.scale = 0;

      /**
       * Tensor indices.
       * @member {Uint8Array} indices
       * @memberof asyncfl.v1.Tensor
       * @instance
       */
      Tensor.prototype.indices = $util.newBuffer([]);

      /**
       * Creates a new Tensor instance using the specified properties.
       * @function create
       * @memberof asyncfl.v1.Tensor
       * @static
       * @param {asyncfl.v1.Tensor.$Properties=} [properties] Properties to set
       * @returns {asyncfl.v1.Tensor} Tensor instance
       * @type {{
       *   (properties: asyncfl.v1.Tensor.$Shape): asyncfl.v1.Tensor & asyncfl.v1.Tensor.$Shape;
       *   (properties?: asyncfl.v1.Tensor.$Properties): asyncfl.v1.Tensor;
       * }}
       */
      Tensor.create = function (properties) {
        return new Tensor(properties);
      };

      /**
       * Encodes the specified Tensor message. Does not implicitly {@link asyncfl.v1.Tensor.verify|verify} messages.
       * @function encode
       * @memberof asyncfl.v1.Tensor
       * @static
       * @param {asyncfl.v1.Tensor.$Properties} message Tensor message or plain object to encode
       * @param {$protobuf.Writer} [writer] Writer to encode to
       * @returns {$protobuf.Writer} Writer
       */
      Tensor.encode = function (message, writer, _depth) {
        if (!writer) writer = $Writer.create();
        if (_depth === $undefined) _depth = 0;
        if (_depth > $util.recursionLimit) throw $Error('max depth exceeded');
        if (
          message.name != null &&
          $Object.hasOwnProperty.call(message, 'name') &&
          message.name !== ''
        )
          writer.uint32(/* id 1, wireType 2 =*/ 10).string(message.name);
        if (message.shape != null && message.shape.length)
          writer.uint32(/* id 2, wireType 2 =*/ 18).uint32s(message.shape);
        if (
          message.encoding != null &&
          $Object.hasOwnProperty.call(message, 'encoding') &&
          message.encoding !== 0
        )
          writer.uint32(/* id 3, wireType 0 =*/ 24).int32(message.encoding);
        if (
          message.data != null &&
          $Object.hasOwnProperty.call(message, 'data') &&
          message.data.length
        )
          writer.uint32(/* id 4, wireType 2 =*/ 34).bytes(message.data);
        if (
          message.scale != null &&
          $Object.hasOwnProperty.call(message, 'scale') &&
          !$Object.is(message.scale, 0)
        )
          writer.uint32(/* id 5, wireType 5 =*/ 45).float(message.scale);
        if (
          message.indices != null &&
          $Object.hasOwnProperty.call(message, 'indices') &&
          message.indices.length
        )
          writer.uint32(/* id 6, wireType 2 =*/ 50).bytes(message.indices);
        if (message.$unknowns != null && $Object.hasOwnProperty.call(message, '$unknowns'))
          for (let i = 0; i < message.$unknowns.length; ++i) writer.raw(message.$unknowns[i]);
        return writer;
      };

      /**
       * Decodes a Tensor message from the specified reader or buffer.
       * @function decode
       * @memberof asyncfl.v1.Tensor
       * @static
       * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
       * @param {number} [length] Message length if known beforehand
       * @returns {asyncfl.v1.Tensor & asyncfl.v1.Tensor.$Shape} Tensor
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      Tensor.decode = function (reader, length, _end, _depth, _target) {
        if (!(reader instanceof $Reader)) reader = $Reader.create(reader);
        if (_depth === $undefined) _depth = 0;
        if (_depth > $Reader.recursionLimit) throw $Error('max depth exceeded');
        let end, message, value;
        if (length === $undefined) end = reader.len;
        else {
          end = reader.pos + length;
          if (end > reader.len) throw $RangeError('index out of range');
          length = reader.len;
          reader.len = end;
        }
        message = _target || new $root.asyncfl.v1.Tensor();
        while (reader.pos < end) {
          let start = reader.pos;
          let tag = reader.tag();
          if (tag === _end) {
            _end = $undefined;
            break;
          }
          let wireType = tag & 7;
          switch ((tag >>>= 3)) {
            case 1: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.name = value;
              else delete message.name;
              continue;
            }
            case 2: {
              if (wireType === 2) {
                if (!(message.shape && message.shape.length)) message.shape = [];
                reader.uint32s(message.shape);
                continue;
              }
              if (wireType !== 0) break;
              if (!(message.shape && message.shape.length)) message.shape = [];
              message.shape.push(reader.uint32());
              continue;
            }
            case 3: {
              if (wireType !== 0) break;
              if ((value = reader.int32())) message.encoding = value;
              else delete message.encoding;
              continue;
            }
            case 4: {
              if (wireType !== 2) break;
              if ((value = reader.bytes()).length) message.data = value;
              else delete message.data;
              continue;
            }
            case 5: {
              if (wireType !== 5) break;
              if (!$Object.is((value = reader.float()), 0)) message.scale = value;
              else delete message.scale;
              continue;
            }
            case 6: {
              if (wireType !== 2) break;
              if ((value = reader.bytes()).length) message.indices = value;
              else delete message.indices;
              continue;
            }
          }
          reader.skipType(wireType, _depth, tag);
          if (!reader.discardUnknown) {
            $util.makeProp(message, '$unknowns', false);
            (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
          }
        }
        if (length !== $undefined) {
          if (reader.pos !== end) throw $RangeError('index out of range');
          reader.len = length;
        }
        if (_end !== $undefined) throw $Error('missing end group');
        return message;
      };

      /**
       * Gets the type url for Tensor
       * @function getTypeUrl
       * @memberof asyncfl.v1.Tensor
       * @static
       * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns {string} The type url
       */
      Tensor.getTypeUrl = function (prefix) {
        if (prefix === $undefined) prefix = 'type.googleapis.com';
        return prefix + '/asyncfl.v1.Tensor';
      };

      return Tensor;
    })();

    v1.Update = (function () {
      /**
       * Properties of an Update.
       * @typedef {Object} asyncfl.v1.Update.$Properties
       * @property {number|null} [schemaVersion] Update schemaVersion
       * @property {string|null} [job] Update job
       * @property {number|null} [rank] Update rank
       * @property {string|null} [workerId] Update workerId
       * @property {string|null} [incarnation] Update incarnation
       * @property {number|null} [seq] Update seq
       * @property {number|null} [baseVersion] Update baseVersion
       * @property {number|null} [numExamples] Update numExamples
       * @property {number|null} [localSteps] Update localSteps
       * @property {number|null} [localLr] Update localLr
       * @property {number|null} [trainLoss] Update trainLoss
       * @property {Array.<asyncfl.v1.Tensor.$Properties>|null} [tensors] Update tensors
       * @property {string|null} [architectureHash] Update architectureHash
       * @property {number|null} [dpEpsilon] Update dpEpsilon
       * @property {number|null} [dpDelta] Update dpDelta
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */

      /**
       * Properties of an Update.
       * @memberof asyncfl.v1
       * @interface IUpdate
       * @augments asyncfl.v1.Update.$Properties
       * @deprecated Use asyncfl.v1.Update.$Properties instead.
       */

      /**
       * Shape of an Update.
       * @typedef {asyncfl.v1.Update.$Properties} asyncfl.v1.Update.$Shape
       */

      /**
       * Constructs a new Update.
       * @memberof asyncfl.v1
       * @classdesc Represents an Update.
       * @constructor
       * @param {asyncfl.v1.Update.$Properties=} [properties] Properties to set
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */
      const Update = function (properties) {
        this.tensors = [];
        if (properties)
          for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
            if (properties[keys[i]] != null && keys[i] !== '__proto__')
              this[keys[i]] = properties[keys[i]];
      };

      /**
       * Update schemaVersion.
       * @member {number} schemaVersion
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.schemaVersion = 0;

      /**
       * Update job.
       * @member {string} job
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.job = '';

      /**
       * Update rank.
       * @member {number} rank
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.rank = 0;

      /**
       * Update workerId.
       * @member {string} workerId
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.workerId = '';

      /**
       * Update incarnation.
       * @member {string} incarnation
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.incarnation = '';

      /**
       * Update seq.
       * @member {number} seq
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.seq = $util.Long ? $util.Long.fromBits(0, 0, true) : 0;

      /**
       * Update baseVersion.
       * @member {number} baseVersion
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.baseVersion = $util.Long ? $util.Long.fromBits(0, 0, true) : 0;

      /**
       * Update numExamples.
       * @member {number} numExamples
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.numExamples = $util.Long ? $util.Long.fromBits(0, 0, true) : 0;

      /**
       * Update localSteps.
       * @member {number} localSteps
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.localSteps = 0;

      /**
       * Update localLr.
       * @member {number} localLr
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.localLr = 0;

      /**
       * Update trainLoss.
       * @member {number} trainLoss
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.trainLoss = 0;

      /**
       * Update tensors.
       * @member {Array.<asyncfl.v1.Tensor.$Properties>} tensors
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.tensors = $util.emptyArray;

      /**
       * Update architectureHash.
       * @member {string} architectureHash
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.architectureHash = '';

      /**
       * Update dpEpsilon.
       * @member {number} dpEpsilon
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.dpEpsilon = 0;

      /**
       * Update dpDelta.
       * @member {number} dpDelta
       * @memberof asyncfl.v1.Update
       * @instance
       */
      Update.prototype.dpDelta = 0;

      /**
       * Creates a new Update instance using the specified properties.
       * @function create
       * @memberof asyncfl.v1.Update
       * @static
       * @param {asyncfl.v1.Update.$Properties=} [properties] Properties to set
       * @returns {asyncfl.v1.Update} Update instance
       * @type {{
       *   (properties: asyncfl.v1.Update.$Shape): asyncfl.v1.Update & asyncfl.v1.Update.$Shape;
       *   (properties?: asyncfl.v1.Update.$Properties): asyncfl.v1.Update;
       * }}
       */
      Update.create = function (properties) {
        return new Update(properties);
      };

      /**
       * Encodes the specified Update message. Does not implicitly {@link asyncfl.v1.Update.verify|verify} messages.
       * @function encode
       * @memberof asyncfl.v1.Update
       * @static
       * @param {asyncfl.v1.Update.$Properties} message Update message or plain object to encode
       * @param {$protobuf.Writer} [writer] Writer to encode to
       * @returns {$protobuf.Writer} Writer
       */
      Update.encode = function (message, writer, _depth) {
        if (!writer) writer = $Writer.create();
        if (_depth === $undefined) _depth = 0;
        if (_depth > $util.recursionLimit) throw $Error('max depth exceeded');
        if (
          message.schemaVersion != null &&
          $Object.hasOwnProperty.call(message, 'schemaVersion') &&
          message.schemaVersion !== 0
        )
          writer.uint32(/* id 1, wireType 0 =*/ 8).uint32(message.schemaVersion);
        if (
          message.job != null &&
          $Object.hasOwnProperty.call(message, 'job') &&
          message.job !== ''
        )
          writer.uint32(/* id 2, wireType 2 =*/ 18).string(message.job);
        if (
          message.rank != null &&
          $Object.hasOwnProperty.call(message, 'rank') &&
          message.rank !== 0
        )
          writer.uint32(/* id 3, wireType 0 =*/ 24).uint32(message.rank);
        if (
          message.workerId != null &&
          $Object.hasOwnProperty.call(message, 'workerId') &&
          message.workerId !== ''
        )
          writer.uint32(/* id 4, wireType 2 =*/ 34).string(message.workerId);
        if (
          message.incarnation != null &&
          $Object.hasOwnProperty.call(message, 'incarnation') &&
          message.incarnation !== ''
        )
          writer.uint32(/* id 5, wireType 2 =*/ 42).string(message.incarnation);
        if (
          message.seq != null &&
          $Object.hasOwnProperty.call(message, 'seq') &&
          (typeof message.seq === 'object'
            ? message.seq.low || message.seq.high
            : message.seq !== 0)
        )
          writer.uint32(/* id 6, wireType 0 =*/ 48).uint64(message.seq);
        if (
          message.baseVersion != null &&
          $Object.hasOwnProperty.call(message, 'baseVersion') &&
          (typeof message.baseVersion === 'object'
            ? message.baseVersion.low || message.baseVersion.high
            : message.baseVersion !== 0)
        )
          writer.uint32(/* id 7, wireType 0 =*/ 56).uint64(message.baseVersion);
        if (
          message.numExamples != null &&
          $Object.hasOwnProperty.call(message, 'numExamples') &&
          (typeof message.numExamples === 'object'
            ? message.numExamples.low || message.numExamples.high
            : message.numExamples !== 0)
        )
          writer.uint32(/* id 8, wireType 0 =*/ 64).uint64(message.numExamples);
        if (
          message.localSteps != null &&
          $Object.hasOwnProperty.call(message, 'localSteps') &&
          message.localSteps !== 0
        )
          writer.uint32(/* id 9, wireType 0 =*/ 72).uint32(message.localSteps);
        if (
          message.localLr != null &&
          $Object.hasOwnProperty.call(message, 'localLr') &&
          !$Object.is(message.localLr, 0)
        )
          writer.uint32(/* id 10, wireType 5 =*/ 85).float(message.localLr);
        if (
          message.trainLoss != null &&
          $Object.hasOwnProperty.call(message, 'trainLoss') &&
          !$Object.is(message.trainLoss, 0)
        )
          writer.uint32(/* id 11, wireType 5 =*/ 93).float(message.trainLoss);
        if (message.tensors != null && message.tensors.length)
          for (let i = 0; i < message.tensors.length; ++i)
            $root.asyncfl.v1.Tensor.encode(
              message.tensors[i],
              writer.uint32(/* id 12, wireType 2 =*/ 98).fork(),
              _depth + 1
            ).ldelim();
        if (
          message.architectureHash != null &&
          $Object.hasOwnProperty.call(message, 'architectureHash') &&
          message.architectureHash !== ''
        )
          writer.uint32(/* id 13, wireType 2 =*/ 106).string(message.architectureHash);
        if (
          message.dpEpsilon != null &&
          $Object.hasOwnProperty.call(message, 'dpEpsilon') &&
          !$Object.is(message.dpEpsilon, 0)
        )
          writer.uint32(/* id 14, wireType 1 =*/ 113).double(message.dpEpsilon);
        if (
          message.dpDelta != null &&
          $Object.hasOwnProperty.call(message, 'dpDelta') &&
          !$Object.is(message.dpDelta, 0)
        )
          writer.uint32(/* id 15, wireType 1 =*/ 121).double(message.dpDelta);
        if (message.$unknowns != null && $Object.hasOwnProperty.call(message, '$unknowns'))
          for (let i = 0; i < message.$unknowns.length; ++i) writer.raw(message.$unknowns[i]);
        return writer;
      };

      /**
       * Decodes an Update message from the specified reader or buffer.
       * @function decode
       * @memberof asyncfl.v1.Update
       * @static
       * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
       * @param {number} [length] Message length if known beforehand
       * @returns {asyncfl.v1.Update & asyncfl.v1.Update.$Shape} Update
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      Update.decode = function (reader, length, _end, _depth, _target) {
        if (!(reader instanceof $Reader)) reader = $Reader.create(reader);
        if (_depth === $undefined) _depth = 0;
        if (_depth > $Reader.recursionLimit) throw $Error('max depth exceeded');
        let end, message, value;
        if (length === $undefined) end = reader.len;
        else {
          end = reader.pos + length;
          if (end > reader.len) throw $RangeError('index out of range');
          length = reader.len;
          reader.len = end;
        }
        message = _target || new $root.asyncfl.v1.Update();
        while (reader.pos < end) {
          let start = reader.pos;
          let tag = reader.tag();
          if (tag === _end) {
            _end = $undefined;
            break;
          }
          let wireType = tag & 7;
          switch ((tag >>>= 3)) {
            case 1: {
              if (wireType !== 0) break;
              if ((value = reader.uint32())) message.schemaVersion = value;
              else delete message.schemaVersion;
              continue;
            }
            case 2: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.job = value;
              else delete message.job;
              continue;
            }
            case 3: {
              if (wireType !== 0) break;
              if ((value = reader.uint32())) message.rank = value;
              else delete message.rank;
              continue;
            }
            case 4: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.workerId = value;
              else delete message.workerId;
              continue;
            }
            case 5: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.incarnation = value;
              else delete message.incarnation;
              continue;
            }
            case 6: {
              if (wireType !== 0) break;
              if (
                typeof (value = reader.uint64()) === 'object'
                  ? value.low || value.high
                  : value !== 0
              )
                message.seq = value;
              else delete message.seq;
              continue;
            }
            case 7: {
              if (wireType !== 0) break;
              if (
                typeof (value = reader.uint64()) === 'object'
                  ? value.low || value.high
                  : value !== 0
              )
                message.baseVersion = value;
              else delete message.baseVersion;
              continue;
            }
            case 8: {
              if (wireType !== 0) break;
              if (
                typeof (value = reader.uint64()) === 'object'
                  ? value.low || value.high
                  : value !== 0
              )
                message.numExamples = value;
              else delete message.numExamples;
              continue;
            }
            case 9: {
              if (wireType !== 0) break;
              if ((value = reader.uint32())) message.localSteps = value;
              else delete message.localSteps;
              continue;
            }
            case 10: {
              if (wireType !== 5) break;
              if (!$Object.is((value = reader.float()), 0)) message.localLr = value;
              else delete message.localLr;
              continue;
            }
            case 11: {
              if (wireType !== 5) break;
              if (!$Object.is((value = reader.float()), 0)) message.trainLoss = value;
              else delete message.trainLoss;
              continue;
            }
            case 12: {
              if (wireType !== 2) break;
              if (!(message.tensors && message.tensors.length)) message.tensors = [];
              message.tensors.push(
                $root.asyncfl.v1.Tensor.decode(reader, reader.size(), $undefined, _depth + 1)
              );
              continue;
            }
            case 13: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.architectureHash = value;
              else delete message.architectureHash;
              continue;
            }
            case 14: {
              if (wireType !== 1) break;
              if (!$Object.is((value = reader.double()), 0)) message.dpEpsilon = value;
              else delete message.dpEpsilon;
              continue;
            }
            case 15: {
              if (wireType !== 1) break;
              if (!$Object.is((value = reader.double()), 0)) message.dpDelta = value;
              else delete message.dpDelta;
              continue;
            }
          }
          reader.skipType(wireType, _depth, tag);
          if (!reader.discardUnknown) {
            $util.makeProp(message, '$unknowns', false);
            (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
          }
        }
        if (length !== $undefined) {
          if (reader.pos !== end) throw $RangeError('index out of range');
          reader.len = length;
        }
        if (_end !== $undefined) throw $Error('missing end group');
        return message;
      };

      /**
       * Gets the type url for Update
       * @function getTypeUrl
       * @memberof asyncfl.v1.Update
       * @static
       * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns {string} The type url
       */
      Update.getTypeUrl = function (prefix) {
        if (prefix === $undefined) prefix = 'type.googleapis.com';
        return prefix + '/asyncfl.v1.Update';
      };

      return Update;
    })();

    v1.Chunk = (function () {
      /**
       * Properties of a Chunk.
       * @typedef {Object} asyncfl.v1.Chunk.$Properties
       * @property {string|null} [updateId] Chunk updateId
       * @property {number|null} [index] Chunk index
       * @property {number|null} [count] Chunk count
       * @property {Uint8Array|null} [data] Chunk data
       * @property {number|null} [totalBytes] Chunk totalBytes
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */

      /**
       * Properties of a Chunk.
       * @memberof asyncfl.v1
       * @interface IChunk
       * @augments asyncfl.v1.Chunk.$Properties
       * @deprecated Use asyncfl.v1.Chunk.$Properties instead.
       */

      /**
       * Shape of a Chunk.
       * @typedef {asyncfl.v1.Chunk.$Properties} asyncfl.v1.Chunk.$Shape
       */

      /**
       * Constructs a new Chunk.
       * @memberof asyncfl.v1
       * @classdesc Represents a Chunk.
       * @constructor
       * @param {asyncfl.v1.Chunk.$Properties=} [properties] Properties to set
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */
      const Chunk = function (properties) {
        if (properties)
          for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
            if (properties[keys[i]] != null && keys[i] !== '__proto__')
              this[keys[i]] = properties[keys[i]];
      };

      /**
       * Chunk updateId.
       * @member {string} updateId
       * @memberof asyncfl.v1.Chunk
       * @instance
       */
      Chunk.prototype.updateId = '';

      /**
       * Chunk index.
       * @member {number} index
       * @memberof asyncfl.v1.Chunk
       * @instance
       */
      Chunk.prototype.index = 0;

      /**
       * Chunk count.
       * @member {number} count
       * @memberof asyncfl.v1.Chunk
       * @instance
       */
      Chunk.prototype.count = 0;

      /**
       * Chunk data.
       * @member {Uint8Array} data
       * @memberof asyncfl.v1.Chunk
       * @instance
       */
      Chunk.prototype.data = $util.newBuffer([]);

      /**
       * Chunk totalBytes.
       * @member {number} totalBytes
       * @memberof asyncfl.v1.Chunk
       * @instance
       */
      Chunk.prototype.totalBytes = $util.Long ? $util.Long.fromBits(0, 0, true) : 0;

      /**
       * Creates a new Chunk instance using the specified properties.
       * @function create
       * @memberof asyncfl.v1.Chunk
       * @static
       * @param {asyncfl.v1.Chunk.$Properties=} [properties] Properties to set
       * @returns {asyncfl.v1.Chunk} Chunk instance
       * @type {{
       *   (properties: asyncfl.v1.Chunk.$Shape): asyncfl.v1.Chunk & asyncfl.v1.Chunk.$Shape;
       *   (properties?: asyncfl.v1.Chunk.$Properties): asyncfl.v1.Chunk;
       * }}
       */
      Chunk.create = function (properties) {
        return new Chunk(properties);
      };

      /**
       * Encodes the specified Chunk message. Does not implicitly {@link asyncfl.v1.Chunk.verify|verify} messages.
       * @function encode
       * @memberof asyncfl.v1.Chunk
       * @static
       * @param {asyncfl.v1.Chunk.$Properties} message Chunk message or plain object to encode
       * @param {$protobuf.Writer} [writer] Writer to encode to
       * @returns {$protobuf.Writer} Writer
       */
      Chunk.encode = function (message, writer, _depth) {
        if (!writer) writer = $Writer.create();
        if (_depth === $undefined) _depth = 0;
        if (_depth > $util.recursionLimit) throw $Error('max depth exceeded');
        if (
          message.updateId != null &&
          $Object.hasOwnProperty.call(message, 'updateId') &&
          message.updateId !== ''
        )
          writer.uint32(/* id 1, wireType 2 =*/ 10).string(message.updateId);
        if (
          message.index != null &&
          $Object.hasOwnProperty.call(message, 'index') &&
          message.index !== 0
        )
          writer.uint32(/* id 2, wireType 0 =*/ 16).uint32(message.index);
        if (
          message.count != null &&
          $Object.hasOwnProperty.call(message, 'count') &&
          message.count !== 0
        )
          writer.uint32(/* id 3, wireType 0 =*/ 24).uint32(message.count);
        if (
          message.data != null &&
          $Object.hasOwnProperty.call(message, 'data') &&
          message.data.length
        )
          writer.uint32(/* id 4, wireType 2 =*/ 34).bytes(message.data);
        if (
          message.totalBytes != null &&
          $Object.hasOwnProperty.call(message, 'totalBytes') &&
          (typeof message.totalBytes === 'object'
            ? message.totalBytes.low || message.totalBytes.high
            : message.totalBytes !== 0)
        )
          writer.uint32(/* id 5, wireType 0 =*/ 40).uint64(message.totalBytes);
        if (message.$unknowns != null && $Object.hasOwnProperty.call(message, '$unknowns'))
          for (let i = 0; i < message.$unknowns.length; ++i) writer.raw(message.$unknowns[i]);
        return writer;
      };

      /**
       * Decodes a Chunk message from the specified reader or buffer.
       * @function decode
       * @memberof asyncfl.v1.Chunk
       * @static
       * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
       * @param {number} [length] Message length if known beforehand
       * @returns {asyncfl.v1.Chunk & asyncfl.v1.Chunk.$Shape} Chunk
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      Chunk.decode = function (reader, length, _end, _depth, _target) {
        if (!(reader instanceof $Reader)) reader = $Reader.create(reader);
        if (_depth === $undefined) _depth = 0;
        if (_depth > $Reader.recursionLimit) throw $Error('max depth exceeded');
        let end, message, value;
        if (length === $undefined) end = reader.len;
        else {
          end = reader.pos + length;
          if (end > reader.len) throw $RangeError('index out of range');
          length = reader.len;
          reader.len = end;
        }
        message = _target || new $root.asyncfl.v1.Chunk();
        while (reader.pos < end) {
          let start = reader.pos;
          let tag = reader.tag();
          if (tag === _end) {
            _end = $undefined;
            break;
          }
          let wireType = tag & 7;
          switch ((tag >>>= 3)) {
            case 1: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.updateId = value;
              else delete message.updateId;
              continue;
            }
            case 2: {
              if (wireType !== 0) break;
              if ((value = reader.uint32())) message.index = value;
              else delete message.index;
              continue;
            }
            case 3: {
              if (wireType !== 0) break;
              if ((value = reader.uint32())) message.count = value;
              else delete message.count;
              continue;
            }
            case 4: {
              if (wireType !== 2) break;
              if ((value = reader.bytes()).length) message.data = value;
              else delete message.data;
              continue;
            }
            case 5: {
              if (wireType !== 0) break;
              if (
                typeof (value = reader.uint64()) === 'object'
                  ? value.low || value.high
                  : value !== 0
              )
                message.totalBytes = value;
              else delete message.totalBytes;
              continue;
            }
          }
          reader.skipType(wireType, _depth, tag);
          if (!reader.discardUnknown) {
            $util.makeProp(message, '$unknowns', false);
            (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
          }
        }
        if (length !== $undefined) {
          if (reader.pos !== end) throw $RangeError('index out of range');
          reader.len = length;
        }
        if (_end !== $undefined) throw $Error('missing end group');
        return message;
      };

      /**
       * Gets the type url for Chunk
       * @function getTypeUrl
       * @memberof asyncfl.v1.Chunk
       * @static
       * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns {string} The type url
       */
      Chunk.getTypeUrl = function (prefix) {
        if (prefix === $undefined) prefix = 'type.googleapis.com';
        return prefix + '/asyncfl.v1.Chunk';
      };

      return Chunk;
    })();

    v1.Envelope = (function () {
      /**
       * Properties of an Envelope.
       * @typedef {Object} asyncfl.v1.Envelope.$Properties
       * @property {asyncfl.v1.Update.$Properties|null} [update] Envelope update
       * @property {asyncfl.v1.Chunk.$Properties|null} [chunk] Envelope chunk
       * @property {"update"|"chunk"} [body] Envelope body
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */

      /**
       * Properties of an Envelope.
       * @memberof asyncfl.v1
       * @interface IEnvelope
       * @augments asyncfl.v1.Envelope.$Properties
       * @deprecated Use asyncfl.v1.Envelope.$Properties instead.
       */

      /**
       * Narrowed shape of an Envelope.
       * @typedef {{
       *   update?: asyncfl.v1.Update.$Shape|null;
       *   chunk?: asyncfl.v1.Chunk.$Shape|null;
       *   $unknowns?: Array.<Uint8Array>;
       * } & (
       *   ({ body?: undefined; update?: null; chunk?: null }|{ body?: "update"; update: asyncfl.v1.Update.$Shape; chunk?: null }|{ body?: "chunk"; update?: null; chunk: asyncfl.v1.Chunk.$Shape })
       * )} asyncfl.v1.Envelope.$Shape
       */

      /**
       * Constructs a new Envelope.
       * @memberof asyncfl.v1
       * @classdesc Represents an Envelope.
       * @constructor
       * @param {asyncfl.v1.Envelope.$Properties=} [properties] Properties to set
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */
      const Envelope = function (properties) {
        if (properties)
          for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
            if (properties[keys[i]] != null && keys[i] !== '__proto__')
              this[keys[i]] = properties[keys[i]];
      };

      /**
       * Envelope update.
       * @member {asyncfl.v1.Update.$Properties|null|undefined} update
       * @memberof asyncfl.v1.Envelope
       * @instance
       */
      Envelope.prototype.update = null;

      /**
       * Envelope chunk.
       * @member {asyncfl.v1.Chunk.$Properties|null|undefined} chunk
       * @memberof asyncfl.v1.Envelope
       * @instance
       */
      Envelope.prototype.chunk = null;

      // OneOf field names bound to virtual getters and setters
      let $oneOfFields;

      /**
       * Envelope body.
       * @member {"update"|"chunk"|undefined} body
       * @memberof asyncfl.v1.Envelope
       * @instance
       */
      $Object.defineProperty(Envelope.prototype, 'body', {
        get: $util.oneOfGetter(($oneOfFields = ['update', 'chunk'])),
        set: $util.oneOfSetter($oneOfFields),
      });

      /**
       * Creates a new Envelope instance using the specified properties.
       * @function create
       * @memberof asyncfl.v1.Envelope
       * @static
       * @param {asyncfl.v1.Envelope.$Properties=} [properties] Properties to set
       * @returns {asyncfl.v1.Envelope} Envelope instance
       * @type {{
       *   (properties: asyncfl.v1.Envelope.$Shape): asyncfl.v1.Envelope & asyncfl.v1.Envelope.$Shape;
       *   (properties?: asyncfl.v1.Envelope.$Properties): asyncfl.v1.Envelope;
       * }}
       */
      Envelope.create = function (properties) {
        return new Envelope(properties);
      };

      /**
       * Encodes the specified Envelope message. Does not implicitly {@link asyncfl.v1.Envelope.verify|verify} messages.
       * @function encode
       * @memberof asyncfl.v1.Envelope
       * @static
       * @param {asyncfl.v1.Envelope.$Properties} message Envelope message or plain object to encode
       * @param {$protobuf.Writer} [writer] Writer to encode to
       * @returns {$protobuf.Writer} Writer
       */
      Envelope.encode = function (message, writer, _depth) {
        if (!writer) writer = $Writer.create();
        if (_depth === $undefined) _depth = 0;
        if (_depth > $util.recursionLimit) throw $Error('max depth exceeded');
        if (message.update != null && $Object.hasOwnProperty.call(message, 'update'))
          $root.asyncfl.v1.Update.encode(
            message.update,
            writer.uint32(/* id 1, wireType 2 =*/ 10).fork(),
            _depth + 1
          ).ldelim();
        if (message.chunk != null && $Object.hasOwnProperty.call(message, 'chunk'))
          $root.asyncfl.v1.Chunk.encode(
            message.chunk,
            writer.uint32(/* id 2, wireType 2 =*/ 18).fork(),
            _depth + 1
          ).ldelim();
        if (message.$unknowns != null && $Object.hasOwnProperty.call(message, '$unknowns'))
          for (let i = 0; i < message.$unknowns.length; ++i) writer.raw(message.$unknowns[i]);
        return writer;
      };

      /**
       * Decodes an Envelope message from the specified reader or buffer.
       * @function decode
       * @memberof asyncfl.v1.Envelope
       * @static
       * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
       * @param {number} [length] Message length if known beforehand
       * @returns {asyncfl.v1.Envelope & asyncfl.v1.Envelope.$Shape} Envelope
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      Envelope.decode = function (reader, length, _end, _depth, _target) {
        if (!(reader instanceof $Reader)) reader = $Reader.create(reader);
        if (_depth === $undefined) _depth = 0;
        if (_depth > $Reader.recursionLimit) throw $Error('max depth exceeded');
        let end, message;
        if (length === $undefined) end = reader.len;
        else {
          end = reader.pos + length;
          if (end > reader.len) throw $RangeError('index out of range');
          length = reader.len;
          reader.len = end;
        }
        message = _target || new $root.asyncfl.v1.Envelope();
        while (reader.pos < end) {
          let start = reader.pos;
          let tag = reader.tag();
          if (tag === _end) {
            _end = $undefined;
            break;
          }
          let wireType = tag & 7;
          switch ((tag >>>= 3)) {
            case 1: {
              if (wireType !== 2) break;
              message.update = $root.asyncfl.v1.Update.decode(
                reader,
                reader.size(),
                $undefined,
                _depth + 1,
                message.update
              );
              message.body = 'update';
              continue;
            }
            case 2: {
              if (wireType !== 2) break;
              message.chunk = $root.asyncfl.v1.Chunk.decode(
                reader,
                reader.size(),
                $undefined,
                _depth + 1,
                message.chunk
              );
              message.body = 'chunk';
              continue;
            }
          }
          reader.skipType(wireType, _depth, tag);
          if (!reader.discardUnknown) {
            $util.makeProp(message, '$unknowns', false);
            (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
          }
        }
        if (length !== $undefined) {
          if (reader.pos !== end) throw $RangeError('index out of range');
          reader.len = length;
        }
        if (_end !== $undefined) throw $Error('missing end group');
        return message;
      };

      /**
       * Gets the type url for Envelope
       * @function getTypeUrl
       * @memberof asyncfl.v1.Envelope
       * @static
       * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns {string} The type url
       */
      Envelope.getTypeUrl = function (prefix) {
        if (prefix === $undefined) prefix = 'type.googleapis.com';
        return prefix + '/asyncfl.v1.Envelope';
      };

      return Envelope;
    })();

    v1.Snapshot = (function () {
      /**
       * Properties of a Snapshot.
       * @typedef {Object} asyncfl.v1.Snapshot.$Properties
       * @property {number|null} [schemaVersion] Snapshot schemaVersion
       * @property {string|null} [job] Snapshot job
       * @property {number|null} [version] Snapshot version
       * @property {Array.<asyncfl.v1.Tensor.$Properties>|null} [weights] Snapshot weights
       * @property {Array.<asyncfl.v1.Tensor.$Properties>|null} [stateTensors] Snapshot stateTensors
       * @property {Object.<string,number>|null} [stateScalars] Snapshot stateScalars
       * @property {string|null} [architectureHash] Snapshot architectureHash
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */

      /**
       * Properties of a Snapshot.
       * @memberof asyncfl.v1
       * @interface ISnapshot
       * @augments asyncfl.v1.Snapshot.$Properties
       * @deprecated Use asyncfl.v1.Snapshot.$Properties instead.
       */

      /**
       * Shape of a Snapshot.
       * @typedef {asyncfl.v1.Snapshot.$Properties} asyncfl.v1.Snapshot.$Shape
       */

      /**
       * Constructs a new Snapshot.
       * @memberof asyncfl.v1
       * @classdesc Represents a Snapshot.
       * @constructor
       * @param {asyncfl.v1.Snapshot.$Properties=} [properties] Properties to set
       * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
       */
      const Snapshot = function (properties) {
        this.weights = [];
        this.stateTensors = [];
        this.stateScalars = {};
        if (properties)
          for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
            if (properties[keys[i]] != null && keys[i] !== '__proto__')
              this[keys[i]] = properties[keys[i]];
      };

      /**
       * Snapshot schemaVersion.
       * @member {number} schemaVersion
       * @memberof asyncfl.v1.Snapshot
       * @instance
       */
      Snapshot.prototype.schemaVersion = 0;

      /**
       * Snapshot job.
       * @member {string} job
       * @memberof asyncfl.v1.Snapshot
       * @instance
       */
      Snapshot.prototype.job = '';

      /**
       * Snapshot version.
       * @member {number} version
       * @memberof asyncfl.v1.Snapshot
       * @instance
       */
      Snapshot.prototype.version = $util.Long ? $util.Long.fromBits(0, 0, true) : 0;

      /**
       * Snapshot weights.
       * @member {Array.<asyncfl.v1.Tensor.$Properties>} weights
       * @memberof asyncfl.v1.Snapshot
       * @instance
       */
      Snapshot.prototype.weights = $util.emptyArray;

      /**
       * Snapshot stateTensors.
       * @member {Array.<asyncfl.v1.Tensor.$Properties>} stateTensors
       * @memberof asyncfl.v1.Snapshot
       * @instance
       */
      Snapshot.prototype.stateTensors = $util.emptyArray;

      /**
       * Snapshot stateScalars.
       * @member {Object.<string,number>} stateScalars
       * @memberof asyncfl.v1.Snapshot
       * @instance
       */
      Snapshot.prototype.stateScalars = $util.emptyObject;

      /**
       * Snapshot architectureHash.
       * @member {string} architectureHash
       * @memberof asyncfl.v1.Snapshot
       * @instance
       */
      Snapshot.prototype.architectureHash = '';

      /**
       * Creates a new Snapshot instance using the specified properties.
       * @function create
       * @memberof asyncfl.v1.Snapshot
       * @static
       * @param {asyncfl.v1.Snapshot.$Properties=} [properties] Properties to set
       * @returns {asyncfl.v1.Snapshot} Snapshot instance
       * @type {{
       *   (properties: asyncfl.v1.Snapshot.$Shape): asyncfl.v1.Snapshot & asyncfl.v1.Snapshot.$Shape;
       *   (properties?: asyncfl.v1.Snapshot.$Properties): asyncfl.v1.Snapshot;
       * }}
       */
      Snapshot.create = function (properties) {
        return new Snapshot(properties);
      };

      /**
       * Encodes the specified Snapshot message. Does not implicitly {@link asyncfl.v1.Snapshot.verify|verify} messages.
       * @function encode
       * @memberof asyncfl.v1.Snapshot
       * @static
       * @param {asyncfl.v1.Snapshot.$Properties} message Snapshot message or plain object to encode
       * @param {$protobuf.Writer} [writer] Writer to encode to
       * @returns {$protobuf.Writer} Writer
       */
      Snapshot.encode = function (message, writer, _depth) {
        if (!writer) writer = $Writer.create();
        if (_depth === $undefined) _depth = 0;
        if (_depth > $util.recursionLimit) throw $Error('max depth exceeded');
        if (
          message.schemaVersion != null &&
          $Object.hasOwnProperty.call(message, 'schemaVersion') &&
          message.schemaVersion !== 0
        )
          writer.uint32(/* id 1, wireType 0 =*/ 8).uint32(message.schemaVersion);
        if (
          message.job != null &&
          $Object.hasOwnProperty.call(message, 'job') &&
          message.job !== ''
        )
          writer.uint32(/* id 2, wireType 2 =*/ 18).string(message.job);
        if (
          message.version != null &&
          $Object.hasOwnProperty.call(message, 'version') &&
          (typeof message.version === 'object'
            ? message.version.low || message.version.high
            : message.version !== 0)
        )
          writer.uint32(/* id 3, wireType 0 =*/ 24).uint64(message.version);
        if (message.weights != null && message.weights.length)
          for (let i = 0; i < message.weights.length; ++i)
            $root.asyncfl.v1.Tensor.encode(
              message.weights[i],
              writer.uint32(/* id 4, wireType 2 =*/ 34).fork(),
              _depth + 1
            ).ldelim();
        if (message.stateTensors != null && message.stateTensors.length)
          for (let i = 0; i < message.stateTensors.length; ++i)
            $root.asyncfl.v1.Tensor.encode(
              message.stateTensors[i],
              writer.uint32(/* id 5, wireType 2 =*/ 42).fork(),
              _depth + 1
            ).ldelim();
        if (message.stateScalars != null && $Object.hasOwnProperty.call(message, 'stateScalars'))
          for (let keys = $Object.keys(message.stateScalars), i = 0; i < keys.length; ++i)
            writer
              .uint32(/* id 6, wireType 2 =*/ 50)
              .fork()
              .uint32(/* id 1, wireType 2 =*/ 10)
              .string(keys[i])
              .uint32(/* id 2, wireType 1 =*/ 17)
              .double(message.stateScalars[keys[i]])
              .ldelim();
        if (
          message.architectureHash != null &&
          $Object.hasOwnProperty.call(message, 'architectureHash') &&
          message.architectureHash !== ''
        )
          writer.uint32(/* id 7, wireType 2 =*/ 58).string(message.architectureHash);
        if (message.$unknowns != null && $Object.hasOwnProperty.call(message, '$unknowns'))
          for (let i = 0; i < message.$unknowns.length; ++i) writer.raw(message.$unknowns[i]);
        return writer;
      };

      /**
       * Decodes a Snapshot message from the specified reader or buffer.
       * @function decode
       * @memberof asyncfl.v1.Snapshot
       * @static
       * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
       * @param {number} [length] Message length if known beforehand
       * @returns {asyncfl.v1.Snapshot & asyncfl.v1.Snapshot.$Shape} Snapshot
       * @throws {Error} If the payload is not a reader or valid buffer
       * @throws {$protobuf.util.ProtocolError} If required fields are missing
       */
      Snapshot.decode = function (reader, length, _end, _depth, _target) {
        if (!(reader instanceof $Reader)) reader = $Reader.create(reader);
        if (_depth === $undefined) _depth = 0;
        if (_depth > $Reader.recursionLimit) throw $Error('max depth exceeded');
        let end, message, key, value;
        if (length === $undefined) end = reader.len;
        else {
          end = reader.pos + length;
          if (end > reader.len) throw $RangeError('index out of range');
          length = reader.len;
          reader.len = end;
        }
        message = _target || new $root.asyncfl.v1.Snapshot();
        while (reader.pos < end) {
          let start = reader.pos;
          let tag = reader.tag();
          if (tag === _end) {
            _end = $undefined;
            break;
          }
          let wireType = tag & 7;
          switch ((tag >>>= 3)) {
            case 1: {
              if (wireType !== 0) break;
              if ((value = reader.uint32())) message.schemaVersion = value;
              else delete message.schemaVersion;
              continue;
            }
            case 2: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.job = value;
              else delete message.job;
              continue;
            }
            case 3: {
              if (wireType !== 0) break;
              if (
                typeof (value = reader.uint64()) === 'object'
                  ? value.low || value.high
                  : value !== 0
              )
                message.version = value;
              else delete message.version;
              continue;
            }
            case 4: {
              if (wireType !== 2) break;
              if (!(message.weights && message.weights.length)) message.weights = [];
              message.weights.push(
                $root.asyncfl.v1.Tensor.decode(reader, reader.size(), $undefined, _depth + 1)
              );
              continue;
            }
            case 5: {
              if (wireType !== 2) break;
              if (!(message.stateTensors && message.stateTensors.length)) message.stateTensors = [];
              message.stateTensors.push(
                $root.asyncfl.v1.Tensor.decode(reader, reader.size(), $undefined, _depth + 1)
              );
              continue;
            }
            case 6: {
              if (wireType !== 2) break;
              if (message.stateScalars === $util.emptyObject) message.stateScalars = {};
              let end2 = reader.size() + reader.pos;
              if (end2 > reader.len) throw $RangeError('index out of range');
              reader.len = end2;
              key = '';
              value = 0;
              while (reader.pos < end2) {
                let tag2 = reader.tag();
                wireType = tag2 & 7;
                switch ((tag2 >>>= 3)) {
                  case 1:
                    if (wireType !== 2) break;
                    key = reader.stringVerify();
                    continue;
                  case 2:
                    if (wireType !== 1) break;
                    value = reader.double();
                    continue;
                }
                reader.skipType(wireType, _depth, tag2);
              }
              if (reader.pos !== end2) throw $RangeError('index out of range');
              reader.len = end;
              if (key === '__proto__') $util.makeProp(message.stateScalars, key);
              message.stateScalars[key] = value;
              continue;
            }
            case 7: {
              if (wireType !== 2) break;
              if ((value = reader.stringVerify()).length) message.architectureHash = value;
              else delete message.architectureHash;
              continue;
            }
          }
          reader.skipType(wireType, _depth, tag);
          if (!reader.discardUnknown) {
            $util.makeProp(message, '$unknowns', false);
            (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
          }
        }
        if (length !== $undefined) {
          if (reader.pos !== end) throw $RangeError('index out of range');
          reader.len = length;
        }
        if (_end !== $undefined) throw $Error('missing end group');
        return message;
      };

      /**
       * Gets the type url for Snapshot
       * @function getTypeUrl
       * @memberof asyncfl.v1.Snapshot
       * @static
       * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
       * @returns {string} The type url
       */
      Snapshot.getTypeUrl = function (prefix) {
        if (prefix === $undefined) prefix = 'type.googleapis.com';
        return prefix + '/asyncfl.v1.Snapshot';
      };

      return Snapshot;
    })();

    return v1;
  })();

  return asyncfl;
})());

export { $root as default };
