// SOAP 1.1 plumbing for the Peoplevox simulator, built and parsed with fast-xml-parser only.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

export const PVX_NS = 'http://www.peoplevox.net/';
export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

export const PVX_OPERATIONS = [
  'Authenticate',
  'GetData',
  'GetReportData',
  'GetSaveTemplate',
  'SaveData',
  'SubscribeEvent',
  'SubscribePostEvent',
  'UnsubscribeEvent',
] as const;
export type PvxOperation = (typeof PVX_OPERATIONS)[number];

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: () => false,
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });

export interface ParsedSoapRequest {
  operation: string;
  header: Record<string, unknown>;
  body: Record<string, unknown>;
}

/** Reads a SOAP envelope; throws on anything that is not one. */
export function parseSoapRequest(xml: string): ParsedSoapRequest {
  const doc = parser.parse(xml) as Record<string, unknown>;
  const env = doc.Envelope as Record<string, unknown> | undefined;
  if (!env || typeof env !== 'object') throw new Error('not a SOAP envelope');
  const bodyEl = env.Body as Record<string, unknown> | undefined;
  if (!bodyEl || typeof bodyEl !== 'object') throw new Error('SOAP envelope has no Body');
  const opName = Object.keys(bodyEl).find((k) => k !== '#text');
  if (!opName) throw new Error('SOAP Body is empty');
  const opBody = bodyEl[opName];
  const header = (env.Header && typeof env.Header === 'object' ? env.Header : {}) as Record<string, unknown>;
  return {
    operation: opName,
    header,
    body: opBody && typeof opBody === 'object' ? (opBody as Record<string, unknown>) : {},
  };
}

/** A child element's text ('' when absent). */
export function text(el: unknown, name: string): string {
  if (!el || typeof el !== 'object') return '';
  const v = (el as Record<string, unknown>)[name];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') {
    const t = (v as Record<string, unknown>)['#text'];
    return t === undefined ? '' : String(t);
  }
  return String(v);
}

export function child(el: unknown, name: string): Record<string, unknown> {
  if (!el || typeof el !== 'object') return {};
  const v = (el as Record<string, unknown>)[name];
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

export interface IntegrationResponse {
  ResponseId: number;
  TotalCount: number;
  Detail: string;
  Statuses?: Array<{ Reference: string; Status: 'Success' | 'Error'; LineNo?: number; Message?: string }>;
}

function envelope(body: Record<string, unknown>): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' },
    'soap:Envelope': {
      '@_xmlns:soap': SOAP_ENV_NS,
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      'soap:Body': body,
    },
  }) as string;
}

export function soapResponse(op: string, result: IntegrationResponse): string {
  const r: Record<string, unknown> = {
    ResponseId: result.ResponseId,
    TotalCount: result.TotalCount,
    Detail: result.Detail,
  };
  if (result.Statuses && result.Statuses.length > 0) {
    r.Statuses = { IntegrationStatusResponse: result.Statuses };
  }
  return envelope({ [`${op}Response`]: { '@_xmlns': PVX_NS, [`${op}Result`]: r } });
}

export function soapFault(code: 'soap:Client' | 'soap:Server', message: string): string {
  return envelope({ 'soap:Fault': { faultcode: code, faultstring: message, detail: '' } });
}

/** A minimal but valid WSDL 1.1 description of the operations the simulator implements. */
export function wsdl(location: string): string {
  const xs = (name: string, fields: Array<[string, string]>) => ({
    '@_name': name,
    'xs:complexType': {
      'xs:sequence': {
        'xs:element': fields.map(([n, t]) => ({ '@_name': n, '@_type': t, '@_minOccurs': '0', '@_maxOccurs': '1' })),
      },
    },
  });
  const requestFields: Record<PvxOperation, Array<[string, string]>> = {
    Authenticate: [
      ['clientId', 'xs:string'],
      ['username', 'xs:string'],
      ['password', 'xs:string'],
    ],
    GetData: [['getRequest', 'tns:GetRequest']],
    GetReportData: [['getReportRequest', 'tns:GetReportRequest']],
    GetSaveTemplate: [['templateName', 'xs:string']],
    SaveData: [['saveRequest', 'tns:SaveRequest']],
    SubscribeEvent: [
      ['eventType', 'xs:string'],
      ['filter', 'xs:string'],
      ['callbackUrl', 'xs:string'],
      ['encodeParameterData', 'xs:boolean'],
    ],
    SubscribePostEvent: [
      ['eventType', 'xs:string'],
      ['filter', 'xs:string'],
      ['postUrl', 'xs:string'],
      ['postParams', 'xs:string'],
      ['encodeParameterData', 'xs:boolean'],
    ],
    UnsubscribeEvent: [['subscriptionId', 'xs:int']],
  };
  const complex = (name: string, fields: Array<[string, string]>) => ({
    '@_name': name,
    'xs:sequence': { 'xs:element': fields.map(([n, t]) => ({ '@_name': n, '@_type': t, '@_minOccurs': '0' })) },
  });
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' },
    'wsdl:definitions': {
      '@_xmlns:wsdl': 'http://schemas.xmlsoap.org/wsdl/',
      '@_xmlns:soap': 'http://schemas.xmlsoap.org/wsdl/soap/',
      '@_xmlns:xs': 'http://www.w3.org/2001/XMLSchema',
      '@_xmlns:tns': PVX_NS,
      '@_targetNamespace': PVX_NS,
      'wsdl:types': {
        'xs:schema': {
          '@_elementFormDefault': 'qualified',
          '@_targetNamespace': PVX_NS,
          'xs:element': [
            ...PVX_OPERATIONS.map((op) => xs(op, requestFields[op])),
            ...PVX_OPERATIONS.map((op) => xs(`${op}Response`, [[`${op}Result`, 'tns:IntegrationResponse']])),
            xs('UserSessionCredentials', [
              ['UserId', 'xs:int'],
              ['ClientId', 'xs:string'],
              ['SessionId', 'xs:string'],
            ]),
          ],
          'xs:complexType': [
            complex('GetRequest', [
              ['TemplateName', 'xs:string'],
              ['PageNo', 'xs:int'],
              ['ItemsPerPage', 'xs:int'],
              ['SearchClause', 'xs:string'],
            ]),
            complex('GetReportRequest', [
              ['TemplateName', 'xs:string'],
              ['PageNo', 'xs:int'],
              ['ItemsPerPage', 'xs:int'],
              ['SearchClause', 'xs:string'],
              ['FilterClause', 'xs:string'],
              ['OrderBy', 'xs:string'],
              ['Columns', 'xs:string'],
            ]),
            complex('SaveRequest', [
              ['TemplateName', 'xs:string'],
              ['CsvData', 'xs:string'],
              ['Action', 'xs:int'],
            ]),
            complex('IntegrationResponse', [
              ['ResponseId', 'xs:int'],
              ['TotalCount', 'xs:int'],
              ['Detail', 'xs:string'],
              ['Statuses', 'tns:ArrayOfIntegrationStatusResponse'],
            ]),
            {
              '@_name': 'ArrayOfIntegrationStatusResponse',
              'xs:sequence': {
                'xs:element': {
                  '@_name': 'IntegrationStatusResponse',
                  '@_type': 'tns:IntegrationStatusResponse',
                  '@_minOccurs': '0',
                  '@_maxOccurs': 'unbounded',
                },
              },
            },
            complex('IntegrationStatusResponse', [
              ['Reference', 'xs:string'],
              ['Status', 'xs:string'],
              ['LineNo', 'xs:int'],
            ]),
          ],
        },
      },
      'wsdl:message': [
        ...PVX_OPERATIONS.flatMap((op) => [
          { '@_name': `${op}SoapIn`, 'wsdl:part': { '@_name': 'parameters', '@_element': `tns:${op}` } },
          { '@_name': `${op}SoapOut`, 'wsdl:part': { '@_name': 'parameters', '@_element': `tns:${op}Response` } },
        ]),
        {
          '@_name': 'UserSessionCredentialsHeader',
          'wsdl:part': { '@_name': 'UserSessionCredentials', '@_element': 'tns:UserSessionCredentials' },
        },
      ],
      'wsdl:portType': {
        '@_name': 'IntegrationServiceV4Soap',
        'wsdl:operation': PVX_OPERATIONS.map((op) => ({
          '@_name': op,
          'wsdl:input': { '@_message': `tns:${op}SoapIn` },
          'wsdl:output': { '@_message': `tns:${op}SoapOut` },
        })),
      },
      'wsdl:binding': {
        '@_name': 'IntegrationServiceV4Soap',
        '@_type': 'tns:IntegrationServiceV4Soap',
        'soap:binding': { '@_transport': 'http://schemas.xmlsoap.org/soap/http' },
        'wsdl:operation': PVX_OPERATIONS.map((op) => ({
          '@_name': op,
          'soap:operation': { '@_soapAction': `${PVX_NS}${op}`, '@_style': 'document' },
          'wsdl:input': {
            'soap:body': { '@_use': 'literal' },
            ...(op === 'Authenticate'
              ? {}
              : {
                  'soap:header': {
                    '@_message': 'tns:UserSessionCredentialsHeader',
                    '@_part': 'UserSessionCredentials',
                    '@_use': 'literal',
                  },
                }),
          },
          'wsdl:output': { 'soap:body': { '@_use': 'literal' } },
        })),
      },
      'wsdl:service': {
        '@_name': 'IntegrationServiceV4',
        'wsdl:port': {
          '@_name': 'IntegrationServiceV4Soap',
          '@_binding': 'tns:IntegrationServiceV4Soap',
          'soap:address': { '@_location': location },
        },
      },
    },
  };
  return builder.build(doc) as string;
}
